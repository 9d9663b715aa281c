"""A stand-in for the module where sknnfs 0.1 kept its blockwise updates.

sknnfs 0.1 pickled a ``BlockwiseUpdate`` from here with every optimizer;
this class lets those pickles load, and the optimizers drop it (the blockwise
updates now live in `sknnfs._parallel`, owned by the training loop).
"""


class BlockwiseUpdate:
    """Unpickles a 0.1 optimizer's thread-timing helper, which is then dropped."""

    def __setstate__(self, state):
        pass
