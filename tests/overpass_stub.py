"""A local Overpass API stand-in on loopback, serving the elements of an OSM XML file.

osmnx's own download, caching and parsing code runs against it: ``/api/status`` answers like the
real status endpoint, ``/api/interpreter`` evaluates each query's element types and tag filters
(Overpass filter syntax) and answers with the matching elements and what they reference, as
Overpass JSON; the polygon clause is not evaluated (osmnx clips to its polygon itself).
Only 127.0.0.1 is ever contacted.
"""

from __future__ import annotations

import json
import re
import threading
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs

import osmnx as ox

# One Overpass tag clause: ["key"], ["key"="v"], ["key"!="v"], ["key"~"re"], ["key"!~"re"], with an
# optional ",i" (case-insensitive). Written here from the Overpass QL documentation, independently
# of lastmile's own filter code, so that "online == file" is not checked against itself.
_CLAUSE = re.compile(r"""\[\s*(["'])(.+?)\1\s*(?:(!=|!~|=|~)\s*(["'])(.*?)\4\s*(,\s*i)?)?\s*\]""")


def tags_match(filters: str, tags: dict[str, str]) -> bool:
    """Whether ``tags`` pass every clause of an Overpass tag filter (Overpass QL semantics)."""
    if _CLAUSE.sub("", filters).strip():
        raise ValueError(f"stub: unsupported filter syntax in {filters!r}")
    clauses = [(m[1], m[2], m[4], m[5]) for m in _CLAUSE.findall(filters)]
    for key, op, value, icase in clauses:
        flags = re.IGNORECASE if icase else 0
        have = tags.get(key)
        if op == "":
            ok = have is not None
        elif op == "=":
            ok = have == value
        elif op == "!=":
            ok = have != value
        elif op == "~":  # key present and value matching the (unanchored) regex
            ok = have is not None and bool(re.search(value, have, flags))
        else:  # "!~": key absent, or value not matching
            ok = have is None or not re.search(value, have, flags)
        if not ok:
            return False
    return True


def osm_xml_to_overpass_json(path: Path) -> dict[str, Any]:
    """Convert OSM XML to the JSON the Overpass API returns for ``[out:json]``."""
    elements: list[dict[str, Any]] = []
    for el in ET.parse(path).getroot():
        tags = {t.get("k"): t.get("v") for t in el.findall("tag")}
        ident = int(el.get("id", "0"))
        if el.tag == "node":
            elements.append(
                {
                    "type": "node",
                    "id": ident,
                    "lat": float(el.get("lat", "0")),
                    "lon": float(el.get("lon", "0")),
                    "tags": tags,
                }
            )
        elif el.tag == "way":
            nodes = [int(n.get("ref", "0")) for n in el.findall("nd")]
            elements.append({"type": "way", "id": ident, "nodes": nodes, "tags": tags})
        elif el.tag == "relation":
            members = [
                {"type": m.get("type"), "ref": int(m.get("ref", "0")), "role": m.get("role", "")}
                for m in el.findall("member")
            ]
            elements.append({"type": "relation", "id": ident, "members": members, "tags": tags})
    return {"version": 0.6, "generator": "lastmile test stub", "elements": elements}


_STATEMENT = re.compile(r"\((node|way|relation)((?:\[[^\]]*\])+)\(poly:")


def answer(query: str, data: dict[str, Any]) -> dict[str, Any]:
    """Answer an osmnx query: select by element type and tag filter, recurse down (``>``).

    The polygon clause is ignored (every element is returned); osmnx clips to its polygon itself.
    """
    by_key = {(e["type"], e["id"]): e for e in data["elements"]}
    picked: dict[tuple[str, int], dict[str, Any]] = {}
    for kind, filters in _STATEMENT.findall(query):
        for e in data["elements"]:
            if e["type"] == kind and tags_match(filters, e["tags"]):
                picked[(kind, e["id"])] = e
    # recurse down: relations -> member ways/nodes, ways -> nodes
    for e in [e for e in picked.values() if e["type"] == "relation"]:
        for m in e["members"]:
            if (m["type"], m["ref"]) in by_key:
                picked[(m["type"], m["ref"])] = by_key[(m["type"], m["ref"])]
    for e in [e for e in picked.values() if e["type"] == "way"]:
        for n in e["nodes"]:
            picked[("node", n)] = by_key[("node", n)]
    return {**data, "elements": list(picked.values())}


@contextmanager
def overpass_stub(osm_file: Path, cache_folder: Path) -> Iterator[dict[str, int]]:
    """Serve ``osm_file`` as an Overpass API on 127.0.0.1 and point osmnx at it.

    Yields a dict counting the requests per path. osmnx settings are restored afterwards.
    """
    data = osm_xml_to_overpass_json(osm_file)
    counts: dict[str, int] = {"interpreter": 0, "status": 0}

    class Handler(BaseHTTPRequestHandler):
        def _reply(self, payload: bytes, ctype: str) -> None:
            self.send_response(200)
            self.send_header("Content-Type", ctype)
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)

        def do_GET(self) -> None:
            if self.path.startswith("/api/status"):
                counts["status"] += 1
                status = (
                    "Connected as: 1\nCurrent time: now\nAnnounced endpoint: none\n"
                    "Rate limit: 2\n2 slots available now.\nCurrently running queries:\n"
                )
                self._reply(status.encode(), "text/plain")
            else:
                self.do_POST()

        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length", "0"))
            form = parse_qs(self.rfile.read(length).decode())
            query = form.get("data", [""])[0]
            counts["interpreter"] += 1
            self._reply(json.dumps(answer(query, data)).encode(), "application/json")

        def log_message(self, *args: Any) -> None:  # keep test output quiet
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    saved = {
        k: getattr(ox.settings, k)
        for k in (
            "overpass_url",
            "overpass_rate_limit",
            "cache_folder",
            "use_cache",
            "doh_url_template",
            "requests_timeout",
        )
    }
    try:
        ox.settings.overpass_url = f"http://127.0.0.1:{server.server_address[1]}/api"
        ox.settings.overpass_rate_limit = True  # exercise the status endpoint too
        ox.settings.cache_folder = str(cache_folder)
        ox.settings.use_cache = True
        ox.settings.doh_url_template = None  # never resolve hosts through an outside DoH server
        ox.settings.requests_timeout = 20
        yield counts
    finally:
        for k, v in saved.items():
            setattr(ox.settings, k, v)
        server.shutdown()
        server.server_close()
