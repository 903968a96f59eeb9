"""A self-contained HTML reference rendered from the OpenAPI document (no CDN, works offline)."""

from __future__ import annotations

import json
from html import escape
from typing import Any

STYLE = """
body{font:15px/1.5 system-ui,sans-serif;margin:0 auto;max-width:980px;padding:24px;color:#1d2330}
h1{margin-bottom:0}h2{border-bottom:1px solid #dde;padding-bottom:4px;margin-top:36px}
.op{border:1px solid #dde;border-radius:6px;margin:12px 0;padding:10px 14px}
.m{display:inline-block;min-width:64px;font-weight:700;font-family:monospace}
.GET{color:#0a7}.POST{color:#06c}.PUT{color:#c70}.DELETE{color:#c33}
code,pre{font-family:ui-monospace,monospace;font-size:13px}
pre{background:#f5f6fa;padding:8px;border-radius:4px;overflow:auto;max-height:320px}
table{border-collapse:collapse}td,th{padding:2px 10px 2px 0;text-align:left;vertical-align:top}
details summary{cursor:pointer;color:#456}
"""


def _schema_name(schema: dict[str, Any]) -> str:
    return str(schema.get("$ref", "")).rsplit("/", 1)[-1]


def render(doc: dict[str, Any]) -> str:
    by_tag: dict[str, list[tuple[str, str, dict[str, Any]]]] = {}
    for path, ops in doc["paths"].items():
        for method, op in ops.items():
            by_tag.setdefault(op["tags"][0], []).append((method.upper(), path, op))
    out = [
        "<!doctype html><html><head><meta charset=utf-8><title>Mailgate API</title>",
        f"<style>{STYLE}</style></head><body>",
        f"<h1>Mailgate API</h1><p>Version {escape(doc['info']['version'])}. "
        "Machine-readable: <a href='/openapi.json'>/openapi.json</a>. Authenticate with "
        "<code>Authorization: Bearer &lt;token&gt;</code> or <code>?access_token=</code>.</p>",
    ]
    for tag, ops in by_tag.items():
        out.append(f"<h2>{escape(tag)}</h2>")
        for method, path, op in ops:
            out.append(f"<div class=op><span class='m {method}'>{method}</span> <code>{escape(path)}</code>")
            out.append(f"<div>{escape(op.get('summary', ''))}</div>")
            params = op.get("parameters", [])
            if params:
                rows = "".join(
                    f"<tr><td><code>{escape(p['name'])}</code></td><td>{p['in']}</td>"
                    f"<td>{'required' if p.get('required') else ''}</td>"
                    f"<td>{escape(p.get('description', ''))}</td></tr>"
                    for p in params
                )
                out.append(f"<table>{rows}</table>")
            body = op.get("requestBody", {}).get("content", {}).get("application/json", {}).get("schema")
            if body:
                name = _schema_name(body)
                out.append(f"<div>Body: <a href='#schema-{escape(name)}'>{escape(name)}</a></div>")
            statuses = ", ".join(op["responses"])
            out.append(f"<div>Responses: {escape(statuses)}</div></div>")
    out.append("<h2>Schemas</h2>")
    for name, schema in doc["components"]["schemas"].items():
        text = escape(json.dumps(schema, indent=2))
        anchor = escape(name)
        out.append(f"<details id='schema-{anchor}'><summary>{anchor}</summary><pre>{text}</pre></details>")
    out.append("</body></html>")
    return "\n".join(out)
