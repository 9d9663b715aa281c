"""Data-parallel training on a Dask cluster: how it scales, and what it costs.

For each configuration, the same model is fitted (Adam, ``tol=0`` so that
every round runs) on a LocalCluster of 1 and of 2 single-threaded worker
processes (BLAS and OpenMP at one thread in each, checked with
threadpoolctl), and in this process with BLAS at one thread, on the same
data:

- ``synth60k``: 60,000 rows of 784 features, 10 classes, hidden (256, 128)
  (the shape of ``bench_vs_mlp.py``'s synth60k);
- ``wide``: 30,000 rows of 300 features, 10 classes, hidden (512, 512):
  nearly twice the parameters for half the rows, so that communication
  weighs more.

The data are drawn on the workers, partition by partition, from a fixed
random "teacher" network (`teacher_block`), so that the client never holds
them; the single-machine fit and the held-out rows compute the same blocks
in this process. The table gives, per fit: wall seconds of the fit and of a
round (the median), the speed-up over 1 worker, the bytes a round moves
(computed from the sizes of the parameters and the optimizer state), the
bytes the workers sent (to each other and to the client: the chains' sums)
as distributed counts them, over the whole fit, survey and setup included,
divided by the rounds, against the computed ones, and the held-out accuracy
of each fit against the single-machine fit.

Then a cost model, fitted to those rounds, to the round of a tiny model
(the scheduler's fixed cost per round) and to that of a model of 1.5
million parameters on 400 rows (mostly communication)::

    round seconds = a * (rows / workers) * parameters      (compute)
                  + b * parameters * workers                (communication)
                  + c                                       (latency)

projected to 8, 32 and 128 workers on each configuration (the same data:
strong scaling), with the number of workers from which communication takes
longer than the compute.

``--memory`` adds a fit on data three times one worker's ``memory_limit``
(two workers of 600 MB each: the partitions cannot be persisted and are
recomputed every round), which must complete with the client's peak memory
growing by less than one partition.

Run (OPENBLAS_CORETYPE / OPENBLAS_L2_SIZE, when set on a machine, pin
OpenBLAS to slower kernels; unset them for this command alone)::

    env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE python benchmarks/dask_scaling.py

Options: ``--quick`` (tiny sizes: a smoke test), ``--rounds N`` (default 5),
``--repeats N`` (default 2: the fits of a configuration take turns, and the
fastest round of each kind is kept, since the machine may be shared),
``--config NAME`` (repeatable), ``--memory``, ``--json PATH``.
"""

import argparse
import contextlib
import json
import os
import resource
import statistics
import sys
import time
import warnings
from dataclasses import asdict, dataclass

import numpy as np
from threadpoolctl import threadpool_info, threadpool_limits

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from bench_vs_mlp import blas_description, machine_line  # noqa: E402

from sknnfs import NNFSClassifier  # noqa: E402
from sknnfs._base import BaseNNFS  # noqa: E402

ONE_THREAD = {
    "OMP_NUM_THREADS": "1",
    "OPENBLAS_NUM_THREADS": "1",
    "MKL_NUM_THREADS": "1",
}
PROJECTED_WORKERS = (8, 32, 128)
TEACHER_WIDTH = 32


@dataclass
class Configuration:
    name: str
    rows: int
    features: int
    hidden: tuple
    partitions: int
    classes: int = 10
    batch_size: int = 200
    dtype: str = "float32"

    @property
    def parameters(self):
        sizes = [self.features, *self.hidden, self.classes]
        return sum(
            (n_in + 1) * n_out for n_in, n_out in zip(sizes, sizes[1:], strict=False)
        )


def configurations(quick):
    if quick:
        return {
            "synth60k": Configuration("synth60k", 2_000, 40, (16, 8), 4),
            "wide": Configuration("wide", 1_000, 30, (32, 32), 4),
        }
    return {
        "synth60k": Configuration("synth60k", 60_000, 784, (256, 128), 4),
        "wide": Configuration("wide", 30_000, 300, (512, 512), 4),
    }


# -------------------------------------------------------------------- data
def teacher_block(seed, block, rows, features, classes, dtype):
    """Rows drawn for one partition, labelled by a fixed random network.

    The features of block ``block`` come from their own generator; the
    teacher (a tanh layer of `TEACHER_WIDTH` units, then a linear layer,
    plus Gumbel noise: a softmax sample) is the same for every block.
    """
    teacher = np.random.default_rng(seed)
    hidden = teacher.standard_normal((features, TEACHER_WIDTH)) / np.sqrt(features)
    output = teacher.standard_normal((TEACHER_WIDTH, classes)) * 3.0
    rng = np.random.default_rng([seed, block])
    X = rng.standard_normal((rows, features)).astype(dtype)
    logits = np.tanh(2.0 * X @ hidden) @ output + rng.gumbel(size=(rows, classes))
    return X, logits.argmax(axis=1)


def dask_data(config, seed=0, first_block=0):
    """X and y as dask arrays whose partitions are drawn where they are computed."""
    import dask
    import dask.array as da

    rows = config.rows // config.partitions
    X_blocks, y_blocks = [], []
    for block in range(first_block, first_block + config.partitions):
        drawn = dask.delayed(teacher_block, pure=True, nout=2)(
            seed, block, rows, config.features, config.classes, config.dtype
        )
        X_blocks.append(
            da.from_delayed(drawn[0], (rows, config.features), dtype=config.dtype)
        )
        y_blocks.append(da.from_delayed(drawn[1], (rows,), dtype=np.int64))
    return da.concatenate(X_blocks), da.concatenate(y_blocks)


def local_data(config, seed=0, first_block=0):
    """The same blocks as `dask_data`, drawn in this process."""
    rows = config.rows // config.partitions
    blocks = [
        teacher_block(seed, block, rows, config.features, config.classes, config.dtype)
        for block in range(first_block, first_block + config.partitions)
    ]
    return np.concatenate([X for X, _ in blocks]), np.concatenate(
        [y for _, y in blocks]
    )


# -------------------------------------------------------------- measuring
@contextlib.contextmanager
def round_clock():
    """The wall time at the end of every round (the estimators' epoch hook)."""
    ends = []
    hook = BaseNNFS._on_epoch_end

    def timed(self, history):
        ends.append(time.perf_counter())
        hook(self, history)

    BaseNNFS._on_epoch_end = timed
    try:
        yield ends
    finally:
        BaseNNFS._on_epoch_end = hook


def estimator(config, rounds):
    return NNFSClassifier(
        hidden_layer_sizes=config.hidden,
        batch_size=config.batch_size,
        max_iter=rounds,
        tol=0.0,
        dtype=config.dtype,
        random_state=0,
    )


def timed_fit(model, X, y):
    """The fit's wall seconds and the median seconds of its rounds."""
    with round_clock() as ends, warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the rounds run out by design
        start = time.perf_counter()
        model.fit(X, y)
        seconds = time.perf_counter() - start
    rounds = np.diff(ends) if len(ends) > 1 else [seconds]
    return seconds, float(statistics.median(rounds))


def start_cluster(n_workers, memory_limit="auto"):
    from distributed import Client, LocalCluster

    cluster = LocalCluster(
        n_workers=n_workers,
        threads_per_worker=1,
        processes=True,
        host="127.0.0.1",
        dashboard_address=None,
        memory_limit=memory_limit,
        env=ONE_THREAD,
    )
    return cluster, Client(cluster)


def worker_blas_threads(client):
    """The BLAS threads of every worker, as threadpoolctl reports them."""

    def threads():
        return sorted(
            {
                info["num_threads"]
                for info in threadpool_info()
                if info["user_api"] == "blas"
            }
        )

    return client.run(threads)


def sent_bytes(client):
    """Bytes the workers have sent so far, to each other and to the client
    (distributed's count of the data they served)."""
    sent = client.run(lambda dask_worker: dask_worker.transfer_outgoing_bytes_total)
    return sum(sent.values())


def round_bytes(config, n_chains):
    """Bytes a round moves, from the sizes: the start (weights and Adam's two
    moments) to the scheduler, and from it to each chain's worker (the
    scheduler hands a graph's data to the tasks that need them); each
    chain's sums back to the client."""
    state = 3 * config.parameters * np.dtype(config.dtype).itemsize
    return {
        "to_scheduler": state,
        "scheduler_to_workers": state * n_chains,
        "workers_to_client": state * n_chains,
    }


@dataclass
class Row:
    config: str
    fit: str
    fit_seconds: float
    round_seconds: float
    accuracy: float
    sent_bytes_per_round: float
    computed_sent_bytes: int
    computed_total_bytes: int


def cluster_row(config, client, rounds, X_test, y_test):
    """One fit on the cluster of ``client``: a `Row`."""
    n_workers = len(client.scheduler_info()["workers"])
    X, y = dask_data(config)
    before = sent_bytes(client)
    model = estimator(config, rounds)
    with client.as_current():  # fit trains on the current client's cluster
        seconds, round_seconds = timed_fit(model, X, y)
    moved = (sent_bytes(client) - before) / rounds
    sizes = round_bytes(config, n_workers)
    return Row(
        config.name,
        f"{n_workers} worker(s)",
        seconds,
        round_seconds,
        float(np.mean(model.predict(X_test) == y_test)),
        moved,
        sizes["workers_to_client"],
        sum(sizes.values()),
    )


def local_row(config, rounds, X_test, y_test):
    X, y = local_data(config)
    model = estimator(config, rounds)
    with threadpool_limits(1, user_api="blas"):
        seconds, round_seconds = timed_fit(model, X, y)
    accuracy = float(np.mean(model.predict(X_test) == y_test))
    return Row(config.name, "this process", seconds, round_seconds, accuracy, 0, 0, 0)


def fastest(rows):
    """The row of the fastest round (the machine is shared: the least
    disturbed repeat), with the fastest fit's seconds."""
    best = min(rows, key=lambda row: row.round_seconds)
    best.fit_seconds = min(row.fit_seconds for row in rows)
    return best


def measure(config, clients, rounds, repeats):
    """This process's fit, then fits on each cluster in turn, ``repeats``
    times over: one `Row` each, the fastest of its repeats."""
    X_test, y_test = local_data(config, first_block=1000)
    measured = {"this process": []}
    for _ in range(repeats):
        measured["this process"].append(local_row(config, rounds, X_test, y_test))
        for client in clients:
            row = cluster_row(config, client, rounds, X_test, y_test)
            measured.setdefault(row.fit, []).append(row)
    return [fastest(rows) for rows in measured.values()]


# Probes of the cost model's constants, run on the 2-worker cluster: a
# model so small that a round is all latency, and one with many parameters
# and few rows, whose round is mostly communication.
LATENCY_PROBE = Configuration("latency probe", 400, 4, (2,), 2, classes=2)
COMMUNICATION_PROBE = Configuration("communication probe", 400, 300, (1024, 1024), 2)


def probe_round_seconds(client, config, rounds):
    model = estimator(config, max(rounds, 5))
    with client.as_current():
        return timed_fit(model, *dask_data(config))[1]


# -------------------------------------------------------------- cost model
def fit_cost_model(rows, configs, latency, communication_probe):
    """a and b of the module docstring's model (c is ``latency``), by least
    squares over the clusters' rounds and the communication probe's
    ``(configuration, round seconds)`` on 2 workers."""
    measured = [
        (configs[row.config], int(row.fit.split()[0]), row.round_seconds)
        for row in rows
        if row.fit != "this process"
    ]
    measured.append((communication_probe[0], 2, communication_probe[1]))
    design = [
        [config.rows / workers * config.parameters, config.parameters * workers]
        for config, workers, _ in measured
    ]
    target = [seconds - latency for _, _, seconds in measured]
    (a, b), *_ = np.linalg.lstsq(np.array(design), np.array(target), rcond=None)
    return max(a, 0.0), max(b, 0.0)


def modelled_round_seconds(config, workers, a, b, latency):
    compute = a * config.rows / workers * config.parameters
    return compute, b * config.parameters * workers, latency


def projection(config, a, b, latency):
    """Projected round seconds, speed-up over one worker and the share of
    communication and latency, for each of `PROJECTED_WORKERS`; and the
    workers from which communication takes longer than the compute."""
    one = sum(modelled_round_seconds(config, 1, a, b, latency))
    lines = []
    for workers in PROJECTED_WORKERS:
        compute, communication, _ = modelled_round_seconds(
            config, workers, a, b, latency
        )
        total = compute + communication + latency
        lines.append(
            f"| {config.name} | {workers} | {total:.3f} | {one / total:.1f}x | "
            f"{(communication + latency) / total:.0%} |"
        )
    crossover = np.sqrt(a * config.rows / b) if b > 0 else np.inf
    return lines, crossover


# ------------------------------------------------------------------ memory
def memory_run(quick):
    """Fit on data 3x one worker's memory limit; the client's peak memory."""
    limit = 600e6
    partition_rows = 20_000 if not quick else 2_000
    features = 300
    partition_bytes = partition_rows * features * 4
    partitions = int(np.ceil(3 * limit / partition_bytes)) if not quick else 6
    config = Configuration(
        "memory", partition_rows * partitions, features, (32,), partitions
    )
    cluster, client = start_cluster(2, memory_limit=limit)
    with cluster, client:
        X, y = dask_data(config)
        peak_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
        model = estimator(config, 2)
        seconds, round_seconds = timed_fit(model, X, y)
        peak_after = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
    return {
        "data_bytes": config.rows * features * 4,
        "worker_memory_limit": limit,
        "partitions": partitions,
        "partition_bytes": partition_bytes,
        "fit_seconds": seconds,
        "round_seconds": round_seconds,
        "rounds": model.n_iter_,
        "client_peak_growth_bytes": peak_after - peak_before,
    }


# -------------------------------------------------------------------- main
def print_rows(rows):
    print(
        "| config | fit | fit s | round s | speed-up | held-out accuracy | "
        "sent by workers, bytes/round (measured) | (computed) | "
        "all bytes/round (computed) |"
    )
    print("|---|---|---|---|---|---|---|---|---|")
    one_worker = {row.config: row for row in rows if row.fit == "1 worker(s)"}
    for row in rows:
        speed_up = one_worker[row.config].fit_seconds / row.fit_seconds
        print(
            f"| {row.config} | {row.fit} | {row.fit_seconds:.2f} | "
            f"{row.round_seconds:.3f} | {speed_up:.2f}x | {row.accuracy:.4f} | "
            f"{row.sent_bytes_per_round:,.0f} | {row.computed_sent_bytes:,} | "
            f"{row.computed_total_bytes:,} |"
        )


def print_model(rows, configs, a, b, latency):
    """The fitted constants, and the model against each measured round."""
    print(
        f"Cost model: a = {a:.3e} s per row-parameter, b = {b:.3e} s per "
        f"parameter-worker, c = {latency:.3f} s per round"
    )
    for row in rows:
        if row.fit == "this process":
            continue
        workers = int(row.fit.split()[0])
        modelled = sum(
            modelled_round_seconds(configs[row.config], workers, a, b, latency)
        )
        print(
            f"  {row.config}, {row.fit}: measured {row.round_seconds:.3f} s, "
            f"modelled {modelled:.3f} s"
        )


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--repeats", type=int, default=2)
    parser.add_argument("--config", action="append")
    parser.add_argument("--memory", action="store_true")
    parser.add_argument("--json")
    args = parser.parse_args(argv)
    configs = configurations(args.quick)
    names = args.config or list(configs)
    print(machine_line())
    print(f"Client BLAS: {blas_description()}")
    print(f"Load average (1, 5, 15 min) at the start: {os.getloadavg()}")
    clusters = [start_cluster(n_workers) for n_workers in (1, 2)]
    clients = [client for _, client in clusters]
    for client in clients:
        print(f"Workers' BLAS threads: {worker_blas_threads(client)}")
    rows = []
    for name in names:
        config = configs[name]
        print(f"{name}: {config.rows} rows, {config.parameters:,} parameters")
        rows += measure(config, clients, args.rounds, args.repeats)
    latency = probe_round_seconds(clients[1], LATENCY_PROBE, args.rounds)
    probe = COMMUNICATION_PROBE
    communication = (probe, probe_round_seconds(clients[1], probe, args.rounds))
    for cluster, client in clusters:
        client.close()
        cluster.close()
    print()
    print_rows(rows)
    a, b = fit_cost_model(rows, configs, latency, communication)
    print()
    print_model(rows, configs, a, b, latency)
    print(
        f"  communication probe ({probe.parameters:,} parameters, {probe.rows} "
        f"rows), 2 workers: measured {communication[1]:.3f} s, modelled "
        f"{sum(modelled_round_seconds(probe, 2, a, b, latency)):.3f} s"
    )
    print("| config | workers | projected round s | speed-up | communication |")
    print("|---|---|---|---|---|")
    crossovers = {}
    for name in names:
        lines, crossovers[name] = projection(configs[name], a, b, latency)
        print("\n".join(lines))
    for name, crossover in crossovers.items():
        print(
            f"{name}: communication takes longer than compute from "
            f"{crossover:.0f} workers"
        )
    memory = memory_run(args.quick) if args.memory else None
    if memory:
        print()
        print(json.dumps(memory, indent=1))
        grew = memory["client_peak_growth_bytes"] < memory["partition_bytes"]
        print(f"client peak grew by less than one partition: {grew}")
    print(f"Load average (1, 5, 15 min) at the end: {os.getloadavg()}")
    if args.json:
        with open(args.json, "w") as file:
            json.dump(
                {
                    "rows": [asdict(row) for row in rows],
                    "cost_model": {"a": a, "b": b, "c": latency},
                    "memory": memory,
                },
                file,
                indent=1,
            )


if __name__ == "__main__":
    main()
