#!/usr/bin/env python3
"""Reads a TensorBoard event file written by sftrun's Swift TensorBoardWriter with TensorBoard itself and prints
(or stores) the scalars it sees, so the Swift fixture test can compare against what TensorBoard really read.

Developer-time only (needs `pip install tensorboard` in the reference venv):

    SFTRUN_WRITE_TENSORBOARD_FIXTURE=1 swift test --filter TensorBoardWriterTests/testWriterReproduces
    /work/main/.venv-ref/bin/python scripts/check_tensorboard.py Tests/TrainingTests/Fixtures/tensorboard \
        --json Tests/TrainingTests/Fixtures/tensorboard/tensorboard_read.json

TensorBoard's loaders stop quietly at a bad record, so the file is first walked with TensorBoard's own record
reader, which raises on a CRC mismatch or truncation; then EventFileLoader (raw events) and EventAccumulator
(what the dashboard shows) must both see every record.
"""
import argparse
import glob
import json
import os
import sys

import tensorboard
from tensorboard.backend.event_processing import event_accumulator, event_file_loader
from tensorboard.compat.tensorflow_stub import errors, pywrap_tensorflow


def count_records_strictly(path):
    """Every record through TensorBoard's CRC-checking reader; exits on the first bad one."""
    reader = pywrap_tensorflow.PyRecordReader_New(path)
    count = 0
    while True:
        try:
            reader.GetNext()
        except errors.OutOfRangeError:
            return count
        except errors.DataLossError as e:
            sys.exit(f"{path}: record {count}: {e}")
        count += 1


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("path", help="an event file, or a folder holding exactly one")
    parser.add_argument("--json", help="also write what TensorBoard read to this file")
    args = parser.parse_args()

    if os.path.isdir(args.path):
        files = sorted(glob.glob(os.path.join(args.path, "*tfevents*")))
        if len(files) != 1:
            sys.exit(f"{args.path}: expected one *tfevents* file, found {len(files)}")
        path = files[0]
    else:
        path = args.path

    records = count_records_strictly(path)
    raw = list(event_file_loader.EventFileLoader(path).Load())
    if len(raw) != records:
        sys.exit(f"{path}: {records} records but EventFileLoader read {len(raw)}")
    if not raw or raw[0].file_version != "brain.Event:2":
        sys.exit(f"{path}: first record is not the brain.Event:2 version event")

    accumulator = event_accumulator.EventAccumulator(path, size_guidance={event_accumulator.SCALARS: 0})
    accumulator.Reload()
    scalars = {
        tag: [{"step": e.step, "wall_time": e.wall_time, "value": e.value} for e in accumulator.Scalars(tag)]
        for tag in sorted(accumulator.Tags()[event_accumulator.SCALARS])
    }

    raw_scalars = sum(len(e.summary.value) for e in raw[1:])
    seen = sum(len(v) for v in scalars.values())
    if raw_scalars != seen or len(raw) - 1 != seen:
        sys.exit(f"{path}: {len(raw) - 1} records, {raw_scalars} raw scalars, but EventAccumulator shows {seen}")

    result = {
        "tensorboard_version": tensorboard.__version__,
        "file": os.path.basename(path),
        "file_version": raw[0].file_version,
        "first_wall_time": raw[0].wall_time,
        "scalars": scalars,
    }
    text = json.dumps(result, indent=1, sort_keys=True)
    print(text)
    if args.json:
        with open(args.json, "w") as f:
            f.write(text + "\n")


if __name__ == "__main__":
    main()
