#!/usr/bin/env python3
"""A fake Hugging Face Hub for the HubClient tests and scripts/check_hub_interop.py (standard library only).

Serves tiny model/dataset repos with the real Hub's headers: X-Repo-Commit, X-Linked-Etag, X-Linked-Size, ETag,
Content-Length; LFS files answer HEAD/GET on the resolve URL with a 302 to an absolute "CDN" URL on another host
name (localhost vs 127.0.0.1); small files answer with a relative 307 to /api/resolve-cache/...; Range requests;
a paginated tree API (Link: <...>; rel="next"); the revision API; and per-request faults set through
POST /_control (a JSON list). GET /_log returns every request seen; POST /_reset clears faults and log.
Prints the port on the first stdout line.
"""
import gzip, hashlib, json, os, random, sys, threading, time, urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

def lfs(name):
    return name.endswith((".safetensors", ".bin", ".jsonl", ".parquet"))

def blob_rng(seed, n):
    r = random.Random(seed)
    return bytes(r.getrandbits(8) for _ in range(n))

def make_repos():
    cfg = json.dumps({"model_type": "gpt2", "n_embd": 8, "vocab_size": 16}, indent=2).encode() + b"\n" * 40
    tok = json.dumps({"version": "1.0", "model": {"type": "BPE", "vocab": {"a": 0}}}).encode()
    index = json.dumps({"metadata": {"total_size": 6000},
                        "weight_map": {"a.weight": "model-00001-of-00002.safetensors",
                                       "b.weight": "model-00002-of-00002.safetensors"}}).encode()
    return {
        ("model", "org/tiny-model"): {
            "commits": {"main": "a" * 39 + "1", "refs/pr/1": "b" * 39 + "2", "v1.0": "a" * 39 + "1"},
            "files": {"config.json": cfg, "tokenizer.json": tok, "generation_config.json": b'{"do_sample": false}',
                      "model.safetensors": blob_rng(1, 300_000), "sub/dir/nested.txt": b"nested\n",
                      "README.md": b"# tiny\n"}},
        ("model", "org/sharded"): {
            "commits": {"main": "c" * 39 + "3"},
            "files": {"config.json": cfg, "model.safetensors.index.json": index,
                      "model-00001-of-00002.safetensors": blob_rng(2, 3000),
                      "model-00002-of-00002.safetensors": blob_rng(3, 3000),
                      "pytorch_model.bin": blob_rng(4, 100), "tokenizer_config.json": b"{}"}},
        ("dataset", "org/tiny-data"): {
            "commits": {"main": "d" * 39 + "4"},
            "files": {"data/train.jsonl": b"".join(b'{"text": "row %d"}\n' % i for i in range(200)),
                      "README.md": b"# data\n"}},
        ("model", "org/gated"): {"commits": {"main": "e" * 39 + "5"}, "files": {"config.json": cfg}, "gated": True},
        # A real (tiny, random) llama with its tokenizer, for end-to-end training from the Hub.
        ("model", "org/tiny-llama"): {"commits": {"main": "f" * 39 + "6"}, "files": tiny_llama()},
        # The TRL quickstart's repos in their real layouts (scripts/make_hub_fixtures.py): a tiny random OPT with a
        # slow GPT-2 tokenizer and pytorch_model.bin, and imdb as plain_text/*.parquet with README configs.
        ("model", "facebook/opt-350m"): {"commits": {"main": "8" * 39 + "8"}, "files": fixture_folder("facebook--opt-350m")},
        ("dataset", "stanfordnlp/imdb"): {"commits": {"main": "9" * 39 + "7"}, "files": fixture_folder("stanfordnlp--imdb")},
        ("dataset", "org/empty"): {"commits": {"main": "7" * 39 + "3"}, "files": {"README.md": b"# nothing yet\n"}},
        # A dataset whose files no pattern finds (a loading script), readable only through the Parquet conversion.
        ("dataset", "org/converted"): {
            "commits": {"main": "7" * 39 + "1", "refs/convert/parquet": "7" * 39 + "2"},
            "files": {"README.md": b"# scripted\n", "converted.py": b"import datasets\n"},
            "files_at": {"7" * 39 + "2": {
                "default/train/0000.parquet": fixture_folder("stanfordnlp--imdb")["plain_text/train-00000-of-00001.parquet"],
                "default/partial-test/0000.parquet": fixture_folder("stanfordnlp--imdb")["plain_text/test-00000-of-00001.parquet"]}}},
    }

def files_of(repo, commit):
    """The files of `repo` at `commit` (most repos have the same files at every revision)."""
    return repo.get("files_at", {}).get(commit, repo["files"])

def fixture_folder(name):
    folder = os.path.join(os.path.dirname(os.path.abspath(__file__)), "hub", name)
    files = {}
    for base, _, names in os.walk(folder):
        for n in names:
            path = os.path.join(base, n)
            with open(path, "rb") as f:
                files[os.path.relpath(path, folder)] = f.read()
    return files

def tiny_llama():
    folder = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "SFTRunKitTests", "Fixtures", "tiny-llama")
    files = {}
    for name in ["config.json", "model.safetensors", "tokenizer.json", "tokenizer_config.json"]:
        with open(os.path.join(folder, name), "rb") as f:
            files[name] = f.read()
    return files

REPOS = make_repos()
RENAMED = {("model", "org/old-name"): "org/tiny-model"}

def etag_of(name, data):
    if lfs(name):
        return hashlib.sha256(data).hexdigest()
    return hashlib.sha1(b"blob %d\0" % len(data) + data).hexdigest()

BLOBS = {}
for (_, _), repo in REPOS.items():
    for files in [repo["files"]] + list(repo.get("files_at", {}).values()):
        for name, data in files.items():
            if lfs(name):
                BLOBS[hashlib.sha256(data).hexdigest()] = data

STATE = {"faults": [], "log": []}
LOCK = threading.Lock()

class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *args):
        pass

    def take_fault(self):
        with LOCK:
            self.logged = {"method": self.command, "path": self.path, "host": self.headers.get("Host"),
                           "authorization": self.headers.get("Authorization"), "range": self.headers.get("Range"),
                           "accept_encoding": self.headers.get("Accept-Encoding")}
            STATE["log"].append(self.logged)
            for f in STATE["faults"]:
                if f.get("times", 1) <= 0:
                    continue
                if f.get("match", "") not in self.path:
                    continue
                if f.get("method") and f["method"] != self.command:
                    continue
                f["times"] = f.get("times", 1) - 1
                return dict(f)
        return None

    def send(self, status, headers, body=b"", length=None):
        self.send_response(status)
        for k, v in headers.items():
            self.send_header(k, v)
        self.send_header("Content-Length", str(len(body) if length is None else length))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def error(self, status, code, message, extra=None):
        h = {"X-Error-Code": code, "X-Error-Message": message, "Content-Type": "application/json"}
        h.update(extra or {})
        self.send(status, h, json.dumps({"error": message}).encode())

    def do_POST(self):
        n = int(self.headers.get("Content-Length", "0"))
        body = self.rfile.read(n)
        if self.path == "/_control":
            with LOCK:
                STATE["faults"] = json.loads(body or b"[]")
        elif self.path == "/_reset":
            with LOCK:
                STATE["faults"], STATE["log"] = [], []
        self.send(200, {}, b"{}")

    def do_HEAD(self):
        self.route()

    def do_GET(self):
        if self.path == "/_log":
            with LOCK:
                data = json.dumps(STATE["log"]).encode()
            return self.send(200, {"Content-Type": "application/json"}, data)
        self.route()

    def route(self):
        fault = self.take_fault()
        if fault and fault.get("action") == "slow":
            time.sleep(fault.get("seconds", 3))
            fault = None
        if fault and fault.get("action") == "status":
            return self.send(fault["status"], fault.get("headers", {}), fault.get("body", "").encode())
        url = urllib.parse.urlsplit(self.path)
        parts = [urllib.parse.unquote(p) for p in url.path.split("/")[1:]]
        if parts[:1] == ["cdn"]:
            return self.serve_bytes(BLOBS.get(parts[1]), fault, {})
        if parts[:1] == ["api"]:
            return self.api(parts[1:], urllib.parse.parse_qs(url.query), fault)
        rtype = "model"
        if parts[:1] == ["datasets"]:
            rtype, parts = "dataset", parts[1:]
        if len(parts) < 5 or parts[2] != "resolve":
            return self.error(404, "RepoNotFound", "Repository not found")
        return self.resolve(rtype, "/".join(parts[:2]), parts[3], "/".join(parts[4:]), fault)

    def find(self, rtype, repo_id, rev):
        """Returns (repo, commit) or sends the Hub's error and returns None."""
        repo = REPOS.get((rtype, repo_id))
        if repo is None:
            self.error(404, "RepoNotFound", "Repository not found")
            return None
        if repo.get("gated"):
            auth = self.headers.get("Authorization")
            if auth is None:
                self.error(401, "GatedRepo", "Access to model %s is restricted. You must have access to it and be authenticated to access it. Please log in." % repo_id)
                return None
            if auth != "Bearer hf_good":
                self.error(403, "GatedRepo", "Access to model %s is restricted and you are not in the authorized list." % repo_id)
                return None
        commits = repo["commits"]
        commit = commits.get(rev) or (rev if rev in commits.values() else None)
        if commit is None:
            self.error(404, "RevisionNotFound", "Invalid rev id: " + rev)
            return None
        return repo, commit

    def resolve(self, rtype, repo_id, rev, path, fault):
        prefix = "" if rtype == "model" else "datasets/"
        if (rtype, repo_id) in RENAMED:
            loc = "/%s%s/resolve/%s/%s" % (prefix, RENAMED[(rtype, repo_id)], urllib.parse.quote(rev, safe=""), urllib.parse.quote(path))
            return self.send(307, {"Location": loc})
        found = self.find(rtype, repo_id, rev)
        if found is None:
            return
        repo, commit = found
        data = files_of(repo, commit).get(path)
        if data is None:
            return self.error(404, "EntryNotFound", "Entry not found", {"X-Repo-Commit": commit})
        etag = etag_of(path, data)
        if lfs(path):
            host = "localhost:%d" % self.server.server_address[1]
            loc = "http://%s/cdn/%s/%s?Expires=9999999999&Signature=fake" % (host, etag, urllib.parse.quote(path))
            return self.send(302, {"X-Repo-Commit": commit, "X-Linked-Etag": '"%s"' % etag, "X-Linked-Size": str(len(data)),
                                   "ETag": 'W/"%s"' % hashlib.sha1(data).hexdigest(), "Location": loc}, b"")
        if not self.path.startswith("/api/resolve-cache/") and "cached=1" not in self.path:
            loc = "/api/resolve-cache/%ss/%s/%s/%s?cached=1" % (rtype, repo_id, commit, urllib.parse.quote(path))
            return self.send(307, {"Location": loc, "X-Repo-Commit": commit, "ETag": '"%s"' % etag})
        self.serve_bytes(data, fault, {"X-Repo-Commit": commit, "ETag": '"%s"' % etag}, gz=path.endswith(".json"))

    def serve_bytes(self, data, fault, headers, gz=False):
        if data is None:
            return self.error(404, "EntryNotFound", "Entry not found")
        action = fault.get("action") if fault else None
        if action == "corrupt":
            b = bytearray(data)
            b[fault.get("offset", len(b) // 2)] ^= 0xFF
            data = bytes(b)
        h = dict(headers)
        h["Accept-Ranges"] = "bytes"
        status, body = 200, data
        rng = self.headers.get("Range")
        if rng and action != "ignore_range" and self.command == "GET":
            start = int(rng.split("=")[1].split("-")[0])
            if start >= len(data):
                return self.send(416, {"Content-Range": "bytes */%d" % len(data)})
            status, body = 206, data[start:]
            h["Content-Range"] = "bytes %d-%d/%d" % (start, len(data) - 1, len(data))
        elif gz and self.command == "GET" and "gzip" in (self.headers.get("Accept-Encoding") or ""):
            body = gzip.compress(data)
            h["Content-Encoding"] = "gzip"
        if action == "drop":
            self.send_response(status)
            for k, v in h.items():
                self.send_header(k, v)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body[: fault.get("after", len(body) // 2)])
            self.wfile.flush()
            self.close_connection = True
            return
        if action == "short":
            body = body[: fault.get("after", len(body) // 2)]
        self.send(status, h, body)

    def api(self, parts, query, fault=None):
        rtype = {"models": "model", "datasets": "dataset"}.get(parts[0] if parts else "")
        if parts[:1] == ["resolve-cache"]:
            # /api/resolve-cache/{types}/{org}/{name}/{commit}/{path}
            rt = {"models": "model", "datasets": "dataset"}[parts[1]]
            return self.resolve(rt, "/".join(parts[2:4]), parts[4], "/".join(parts[5:]), fault)
        if rtype is None or len(parts) < 5:
            return self.error(404, "RepoNotFound", "Repository not found")
        repo_id, kind, rev = "/".join(parts[1:3]), parts[3], parts[4]
        found = self.find(rtype, repo_id, rev)
        if found is None:
            return
        repo, commit = found
        if kind == "revision":
            body = {"id": repo_id, "sha": commit, "siblings": [{"rfilename": n} for n in sorted(files_of(repo, commit))]}
            return self.send(200, {"Content-Type": "application/json"}, json.dumps(body).encode())
        if kind == "tree":
            entries, dirs = [], set()
            files = files_of(repo, commit)
            for name in sorted(files):
                segs = name.split("/")
                for i in range(1, len(segs)):
                    d = "/".join(segs[:i])
                    if d not in dirs:
                        dirs.add(d)
                        entries.append({"type": "directory", "oid": "0" * 40, "size": 0, "path": d})
                data = files[name]
                e = {"type": "file", "oid": hashlib.sha1(b"blob %d\0" % len(data) + data).hexdigest(), "size": len(data), "path": name}
                if lfs(name):
                    e["lfs"] = {"oid": hashlib.sha256(data).hexdigest(), "size": len(data), "pointerSize": 134}
                entries.append(e)
            cursor = int(query.get("cursor", ["0"])[0])
            page = entries[cursor: cursor + 3]
            h = {"Content-Type": "application/json"}
            if cursor + 3 < len(entries):
                nxt = "http://127.0.0.1:%d%s?recursive=true&cursor=%d" % (self.server.server_address[1], self.path.split("?")[0], cursor + 3)
                h["Link"] = '<%s>; rel="next"' % nxt
            return self.send(200, h, json.dumps(page).encode())
        self.error(404, "EntryNotFound", "Unknown API")

def main():
    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    print(server.server_address[1], flush=True)
    server.serve_forever()

if __name__ == "__main__":
    main()
