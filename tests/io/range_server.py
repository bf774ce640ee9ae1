#!/usr/bin/env python3
"""Loopback HTTP file server for tests/io/remote.sh (test helper, never in satsal's run path).

    range_server.py ROOT PORT_FILE [--drop-after N] [--lifetime SECONDS]

Serves the files under ROOT on 127.0.0.1 at a free port, written to PORT_FILE once listening.
Unlike `python3 -m http.server` it answers single byte ranges (206 Partial Content), which GDAL's
/vsicurl/ needs to read a COG piece by piece. Query strings are ignored (a signed URL reads the
same file). With --drop-after N the server sends N body bytes in total across all GET requests,
then cuts the connection in the middle of a response (and of every later one): a server dying
mid-run. HEAD requests are always answered. A folder is answered with an Apache-style index page
(what GDAL's VSIReadDir parses over HTTP). It exits by itself after --lifetime seconds (default
300), so a test that dies cannot leave it running.
"""
import argparse
import http.server
import os
import re
import threading
import urllib.parse


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("root")
    parser.add_argument("port_file")
    parser.add_argument("--drop-after", type=int, default=-1)
    parser.add_argument("--lifetime", type=float, default=300.0)
    args = parser.parse_args()
    root = os.path.realpath(args.root)
    lock = threading.Lock()
    sent = [0]

    class Handler(http.server.BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, *unused):
            pass

        def target(self):
            path = urllib.parse.unquote(urllib.parse.urlsplit(self.path).path)
            full = os.path.realpath(os.path.join(root, path.lstrip("/")))
            if not full.startswith(root + os.sep) or not os.path.isfile(full):
                return None
            return full

        def listing(self):
            # An Apache-style index page of a folder, which GDAL's VSIReadDir parses for /vsicurl/.
            path = urllib.parse.unquote(urllib.parse.urlsplit(self.path).path)
            full = os.path.realpath(os.path.join(root, path.lstrip("/")))
            if not (full == root or full.startswith(root + os.sep)) or not os.path.isdir(full):
                return None
            shown = path.rstrip("/") or "/"
            lines = ["<html><head><title>Index of %s</title></head><body>" % shown,
                     "<h1>Index of %s</h1>" % shown, "<pre>"]
            for name in sorted(os.listdir(full)):
                if os.path.isfile(os.path.join(full, name)):
                    lines.append('<a href="%s">%s</a>  %d' % (urllib.parse.quote(name), name,
                                                             os.path.getsize(os.path.join(full, name))))
            lines.append("</pre></body></html>")
            return ("\n".join(lines) + "\n").encode()

        def answer(self, body_wanted):
            page = self.listing()
            if page is not None:
                self.send_response(200)
                self.send_header("Content-Type", "text/html")
                self.send_header("Content-Length", str(len(page)))
                self.end_headers()
                if body_wanted:
                    self.wfile.write(page)
                return
            full = self.target()
            if full is None:
                self.send_response(404)
                self.send_header("Content-Length", "0")
                self.end_headers()
                return
            size = os.path.getsize(full)
            start, end = 0, size - 1
            status = 200
            match = re.fullmatch(r"bytes=(\d+)-(\d*)", self.headers.get("Range", ""))
            if match:
                start = int(match.group(1))
                end = min(int(match.group(2)) if match.group(2) else size - 1, size - 1)
                if start >= size:
                    self.send_response(416)
                    self.send_header("Content-Range", "bytes */%d" % size)
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                    return
                status = 206
            self.send_response(status)
            self.send_header("Content-Length", str(end - start + 1))
            self.send_header("Accept-Ranges", "bytes")
            if status == 206:
                self.send_header("Content-Range", "bytes %d-%d/%d" % (start, end, size))
            self.end_headers()
            if not body_wanted:
                return
            with open(full, "rb") as f:
                f.seek(start)
                data = f.read(end - start + 1)
            if args.drop_after >= 0:
                with lock:
                    allowed = max(0, args.drop_after - sent[0])
                    sent[0] += min(allowed, len(data))
                if allowed < len(data):
                    self.wfile.write(data[:allowed])
                    self.wfile.flush()
                    self.close_connection = True
                    self.connection.shutdown(2)
                    return
            self.wfile.write(data)

        def do_GET(self):
            self.answer(True)

        def do_HEAD(self):
            self.answer(False)

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    timer = threading.Timer(args.lifetime, server.shutdown)
    timer.daemon = True
    timer.start()
    with open(args.port_file + ".tmp", "w") as f:
        f.write(str(server.server_address[1]))
    os.replace(args.port_file + ".tmp", args.port_file)
    server.serve_forever()


if __name__ == "__main__":
    main()
