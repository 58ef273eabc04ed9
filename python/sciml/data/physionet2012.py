"""A loader for the PhysioNet/CinC Challenge 2012 layout, read from a local folder.

The challenge ships one text file per ICU stay, ``RecordID.txt``, with lines
``Time,Parameter,Value`` (time "HH:MM" since admission), the static descriptors (RecordID,
Age, Gender, Height, ICUType, Weight) on the first lines at 00:00, and an outcomes file
(``Outcomes-a.txt``: ``RecordID,SAPS-I,SOFA,Length_of_stay,Survival,In-hospital_death``).
Nothing is downloaded: point the loader at a folder you obtained from PhysioNet.
"""

from __future__ import annotations

import csv
import os
from pathlib import Path

import numpy as np

from sciml._checks import check_int

PARAMETERS = (
    "ALP", "ALT", "AST", "Albumin", "BUN", "Bilirubin", "Cholesterol", "Creatinine",
    "DiasABP", "FiO2", "GCS", "Glucose", "HCO3", "HCT", "HR", "K", "Lactate", "MAP",
    "MechVent", "Mg", "NIDiasABP", "NIMAP", "NISysABP", "Na", "PaCO2", "PaO2", "Platelets",
    "RespRate", "SaO2", "SysABP", "Temp", "TroponinI", "TroponinT", "Urine", "WBC", "Weight",
    "pH",
)  # fmt: skip
"""The 37 time-series variables of the challenge (Weight is also a static descriptor)."""
DESCRIPTORS = ("Age", "Gender", "Height", "ICUType", "Weight")
MISSING = -1.0  # the challenge's code for an unknown value


def _minutes(text: str, where: str) -> int:
    hours, sep, minutes = text.strip().partition(":")
    if not sep or not hours.isdigit() or not minutes.isdigit():
        raise ValueError(f"{where}: time {text!r} is not HH:MM")
    return int(hours) * 60 + int(minutes)


def _read_outcomes(path: Path, label: str) -> dict[int, int]:
    if not path.is_file():
        raise FileNotFoundError(f"no outcomes file at {path}")
    with path.open(newline="") as fh:
        reader = csv.DictReader(fh)
        if reader.fieldnames is None or "RecordID" not in reader.fieldnames:
            raise ValueError(f"{path} has no RecordID column (header {reader.fieldnames})")
        if label not in reader.fieldnames:
            raise ValueError(f"{path} has no column {label!r} (columns {reader.fieldnames})")
        out = {}
        for row in reader:
            try:
                out[int(row["RecordID"])] = int(float(row[label]))
            except (TypeError, ValueError) as e:
                raise ValueError(f"{path}, line {reader.line_num}: bad row {row}") from e
    return out


def _find_outcomes(folder: Path) -> Path:
    for place in (folder, folder.parent):
        found = sorted(place.glob("Outcomes-*.txt"))
        if len(found) == 1:
            return found[0]
        if len(found) > 1:
            names = [p.name for p in found]
            raise ValueError(f"several outcomes files in {place} ({names}): pass outcomes=")
    raise FileNotFoundError(f"no Outcomes-*.txt in {folder} or {folder.parent}: pass outcomes=PATH")


def _read_record(path: Path, index: dict[str, int], n_steps: int) -> tuple[np.ndarray, np.ndarray]:
    """(n_steps, P) hourly means (NaN where nothing) and the (5,) static descriptors."""
    sums = np.zeros((n_steps, len(index)))
    counts = np.zeros((n_steps, len(index)))
    static = np.full(len(DESCRIPTORS), np.nan)
    seen_static: set[str] = set()
    with path.open(newline="") as fh:
        reader = csv.reader(fh)
        header = next(reader, None)
        if header is None or [h.strip() for h in header] != ["Time", "Parameter", "Value"]:
            raise ValueError(f"{path} does not start with the header Time,Parameter,Value")
        for line, row in enumerate(reader, start=2):
            if not row:
                continue
            if len(row) != 3:
                raise ValueError(f"{path}, line {line}: expected Time,Parameter,Value, got {row}")
            minutes = _minutes(row[0], f"{path}, line {line}")
            name = row[1].strip()
            try:
                value = float(row[2])
            except ValueError as e:
                raise ValueError(f"{path}, line {line}: value {row[2]!r} is not a number") from e
            if name == "RecordID":
                continue
            # the descriptors are the first lines at 00:00; a later Weight is a measurement
            if minutes == 0 and name in DESCRIPTORS and name not in seen_static:
                seen_static.add(name)
                if value != MISSING:
                    static[DESCRIPTORS.index(name)] = value
                continue
            if name not in index or value == MISSING or not np.isfinite(value):
                continue
            step = min(minutes // 60, n_steps - 1) if minutes <= 60 * n_steps else None
            if step is None:
                continue
            sums[step, index[name]] += value
            counts[step, index[name]] += 1
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(counts > 0, sums / counts, np.nan), static


def load_physionet2012(
    folder: str | os.PathLike,
    outcomes: str | os.PathLike | None = None,
    *,
    label: str = "In-hospital_death",
    n_steps: int = 48,
    parameters: tuple[str, ...] = PARAMETERS,
) -> dict[str, object]:
    """Reads a PhysioNet/CinC 2012 set (e.g. ``set-a/``) into a PyPOTS-style dict.

    Each record's measurements are binned by hour since admission (hour h holds times in
    [h:00, h+1:00); a time of exactly ``n_steps``:00 joins the last hour; later ones are
    dropped) and averaged within the hour; the challenge's -1 (unknown) is missing.

    Args:
        folder: the folder of ``RecordID.txt`` files.
        outcomes: the outcomes file; None: the one ``Outcomes-*.txt`` in ``folder`` or its
            parent.
        label: the outcomes column used as y.
        n_steps: hours kept (48 in the challenge).
        parameters: the time-series variables kept, in this order (others are ignored).

    Returns:
        "X" (N, n_steps, P) float64 with NaN = missing, "y" (N,) int64, "timestamps"
        (n_steps,) hours, "record_ids" (N,) int64, "static" (N, 5) float64 (Age, Gender,
        Height, ICUType, Weight at admission; NaN = unknown), "feature_names",
        "static_names"; records sorted by RecordID.

    Raises:
        FileNotFoundError: no such folder, no record files, or no outcomes file.
        ValueError: a malformed record or outcomes file, or records without an outcome.
    """
    folder = Path(folder)
    n_steps = check_int(n_steps, "n_steps", minimum=1)
    if not folder.is_dir():
        raise FileNotFoundError(f"no folder {folder} (the PhysioNet 2012 records, e.g. set-a/)")
    files = sorted((p for p in folder.glob("*.txt") if p.stem.isdigit()), key=lambda p: int(p.stem))
    if not files:
        raise FileNotFoundError(f"no RecordID.txt files in {folder}")
    if len(set(parameters)) != len(parameters) or not parameters:
        raise ValueError(f"parameters must be distinct names, got {parameters}")
    labels = _read_outcomes(
        Path(outcomes) if outcomes is not None else _find_outcomes(folder), label
    )
    ids = [int(p.stem) for p in files]
    missing = [i for i in ids if i not in labels]
    if missing:
        raise ValueError(f"{len(missing)} records have no outcome, e.g. RecordID {missing[:5]}")
    index = {name: j for j, name in enumerate(parameters)}
    X = np.empty((len(files), n_steps, len(parameters)))
    static = np.empty((len(files), len(DESCRIPTORS)))
    for i, path in enumerate(files):
        X[i], static[i] = _read_record(path, index, n_steps)
    return {
        "X": X,
        "y": np.array([labels[i] for i in ids], dtype=np.int64),
        "timestamps": np.arange(n_steps, dtype=np.float64),
        "record_ids": np.array(ids, dtype=np.int64),
        "static": static,
        "feature_names": list(parameters),
        "static_names": list(DESCRIPTORS),
    }
