#!/usr/bin/env python3
"""Checks that sftrun's HubClient writes the same cache layout as Python huggingface_hub.

Starts Tests/HubClientTests/Fixtures/fake_hub.py, downloads the same files with huggingface_hub
(/work/main/.venv-ref/bin/python has it) into cache A and with HubClient (InteropLayoutTests, through the
shared build lock) into cache B, then compares the trees: every path, symlink targets and file bytes.
Finally Python's try_to_load_from_cache must find each file in sftrun's cache, and sftrun in offline mode
must find each file in Python's cache.

Usage (from the package root, after `swift build --build-tests`):
    /work/main/.venv-ref/bin/python scripts/check_hub_interop.py
"""
import hashlib, os, shutil, subprocess, sys, tempfile

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
FILES = [("model", "org/tiny-model", "main", "model.safetensors"), ("model", "org/tiny-model", "main", "config.json"),
         ("model", "org/tiny-model", "main", "sub/dir/nested.txt"), ("model", "org/tiny-model", "refs/pr/1", "config.json"),
         ("dataset", "org/tiny-data", "main", "data/train.jsonl")]


def tree(root):
    out = {}
    for d, dirs, files in os.walk(root):
        for name in dirs + files:
            p = os.path.join(d, name)
            rel = os.path.relpath(p, root)
            if os.path.islink(p):
                out[rel] = "link -> " + os.readlink(p)
            elif os.path.isdir(p):
                out[rel] = "dir"
            else:
                out[rel] = "file sha256=" + hashlib.sha256(open(p, "rb").read()).hexdigest()[:16]
    return out


def main():
    temps = []
    server = subprocess.Popen([sys.executable, os.path.join(ROOT, "Tests/HubClientTests/Fixtures/fake_hub.py")], stdout=subprocess.PIPE, text=True)
    try:
        endpoint = "http://127.0.0.1:%s" % server.stdout.readline().strip()
        a, b = tempfile.mkdtemp(prefix="hf-py-"), tempfile.mkdtemp(prefix="hf-swift-")
        temps.extend([a, b])
        os.environ["HF_ENDPOINT"] = endpoint
        os.environ["HF_HUB_DISABLE_TELEMETRY"] = "1"
        import huggingface_hub
        from huggingface_hub import hf_hub_download, try_to_load_from_cache
        for rtype, repo, rev, path in FILES:
            hf_hub_download(repo, path, repo_type=rtype, revision=rev, cache_dir=a, endpoint=endpoint)
        try:
            hf_hub_download("org/tiny-model", "missing.json", cache_dir=a, endpoint=endpoint)
        except huggingface_hub.errors.EntryNotFoundError:
            pass
        env = dict(os.environ, SFTRUN_INTEROP_CACHE=b, SFTRUN_INTEROP_ENDPOINT=endpoint, SFTRUN_INTEROP_PY_CACHE=a)
        r = subprocess.run(["flock", "/tmp/sftrun-build.lock", "swift", "test", "--skip-build", "--filter",
                            "InteropLayoutTests"], cwd=ROOT, env=env, capture_output=True, text=True)
        if r.returncode != 0:
            print(r.stdout[-3000:], r.stderr[-3000:])
            return 1
        ta, tb = tree(a), tree(b)
        print("huggingface_hub %s cache entries: %d; sftrun cache entries: %d" % (huggingface_hub.__version__, len(ta), len(tb)))
        ok = True
        for k in sorted(set(ta) | set(tb)):
            if ta.get(k) != tb.get(k):
                ok = False
                print("DIFF %s\n  python: %s\n  sftrun: %s" % (k, ta.get(k), tb.get(k)))
        for rtype, repo, rev, path in FILES:
            found = try_to_load_from_cache(repo, path, cache_dir=b, revision=rev, repo_type=rtype)
            if not (isinstance(found, str) and os.path.isfile(found)):
                ok = False
                print("try_to_load_from_cache did not find %s %s@%s in the sftrun cache: %r" % (repo, path, rev, found))
        print("IDENTICAL layout; Python finds every sftrun-cached file; sftrun (offline) finds every Python-cached file" if ok else "MISMATCH")
        return 0 if ok else 1
    finally:
        server.terminate()
        server.wait()
        for t in temps:
            shutil.rmtree(t, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
