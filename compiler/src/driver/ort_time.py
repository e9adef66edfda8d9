"""Times onnxruntime on one input set, single-threaded, for `tinyops bench`.

Protocol (one line each): stdin starts with a JSON object
  {"model": PATH, "inputs": [{"name": N, "dtype": NUMPY_DTYPE, "shape": [..], "file": RAW_LE_BYTES}]};
the script answers `ready <onnxruntime version>` after 10 warm-up runs. Then each stdin
line `N` asks for N timed runs, answered by one line of N durations in nanoseconds;
`0` or end of input stops it. The driver alternates these batches with batches of
tinyops so that machine noise affects both alike.
"""

import json
import sys
import time

import numpy as np
import onnxruntime as ort


def main():
    spec = json.loads(sys.stdin.readline())
    opts = ort.SessionOptions()
    opts.intra_op_num_threads = 1
    opts.inter_op_num_threads = 1
    opts.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
    session = ort.InferenceSession(spec["model"], opts, providers=["CPUExecutionProvider"])
    feeds = {
        i["name"]: np.fromfile(i["file"], dtype=np.dtype(i["dtype"])).reshape(i["shape"])
        for i in spec["inputs"]
    }
    for _ in range(10):
        session.run(None, feeds)
    print("ready", ort.__version__, flush=True)
    for line in sys.stdin:
        n = int(line)
        if n <= 0:
            break
        times = []
        for _ in range(n):
            t = time.perf_counter_ns()
            session.run(None, feeds)
            times.append(time.perf_counter_ns() - t)
        print(" ".join(map(str, times)), flush=True)


if __name__ == "__main__":
    main()
