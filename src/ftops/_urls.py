"""Dataset URLs: which ones ftops reads, where a redirect may lead, and how a URL is shown.

Shared by the spec, datasets, foundry and CLI layers; imports nothing of ftops. A query string is where a
SAS token lives (and any other URL credential), so no output, log or plan file carries one: people see
`https://host/path?…`; the plan file keeps only `${VAR}` references, expanded when a request is sent.
"""

from __future__ import annotations

import ipaddress
import re
import socket
from urllib.parse import urlsplit

ELLIPSIS = "…"
MAX_URL_CHARS = 8192  # a blob URL with a SAS is a few hundred characters
# Hosts of Azure Blob Storage (public and sovereign clouds): read with an Entra ID token when no SAS is given.
BLOB_SUFFIXES = (".blob.core.windows.net", ".blob.core.chinacloudapi.cn", ".blob.core.usgovcloudapi.net")
_VAR_REF = re.compile(r"\$\{[A-Za-z_][A-Za-z0-9_]*\}")
# A URL inside free text (an SDK's message, a log record): its query is cut at whitespace or a quote.
_URL_WITH_QUERY = re.compile(r"""(\b[a-zA-Z][a-zA-Z0-9+.-]*://[^\s?#'"<>]*)\?[^\s'"<>]*""")


def shown(url: str) -> str:
    """The URL for people: its query (a SAS, any credential) replaced by `?…`, its fragment dropped."""
    base, query, _ = _split_query(url)
    return f"{base}?{ELLIPSIS}" if query is not None else base


def redact_text(text: str) -> str:
    """Free text with the query of every URL in it replaced by `?…` (for SDK messages and log records)."""
    return _URL_WITH_QUERY.sub(lambda m: f"{m.group(1)}?{ELLIPSIS}", text)


def plan_form(spec_url: str) -> str:
    """The spec's URL as a plan file carries it: `${VAR}` references kept (they name a secret, they are not
    one), any literal query text replaced by `…`. Apply sends the spec's URL, expanded, and only checks that
    the plan was made for it."""
    base, query, _ = _split_query(spec_url)
    if query is None:
        return base
    return f"{base}?{query}" if _only_references(query) else f"{base}?{ELLIPSIS}"


def literal_sas(spec_url: str) -> bool:
    """Does the spec's URL itself hold a SAS signature (`sig=`), rather than a `${VAR}` reference to one?"""
    _, query, _ = _split_query(spec_url)
    return query is not None and "sig=" in _VAR_REF.sub("", query).lower()


def _split_query(url: str) -> tuple[str, str | None, str | None]:
    rest, hash_, fragment = url.partition("#")
    base, q, query = rest.partition("?")
    return base, (query if q else None), (fragment if hash_ else None)


def _only_references(query: str) -> bool:
    return bool(query) and not _VAR_REF.sub("", query).strip("&")


def is_loopback_host(host: str) -> bool:
    """127.0.0.0/8, ::1 or `localhost`: the only hosts plain http may reach (tests' local servers)."""
    if host.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def url_problem(url: str) -> str | None:
    """Why ftops refuses to read or import `url` (an expanded URL as written in a spec), or None."""
    if len(url) > MAX_URL_CHARS:
        return f"url is {len(url)} characters; at most {MAX_URL_CHARS}"
    if any(c.isspace() or ord(c) < 32 or ord(c) == 127 for c in url):
        return "url holds whitespace or control characters"
    try:
        parts = urlsplit(url)
        host = parts.hostname or ""
        _ = parts.port  # a port that is not a number raises here
    except ValueError:
        return "url is not a valid URL (a malformed host or port)"  # not quoted: an expanded URL can be a secret
    scheme = parts.scheme.lower()
    if scheme == "file":
        return "file: URLs are refused: name a file of the project with path: instead"
    if "@" in parts.netloc:
        return "url holds credentials (user:password@); use a SAS token in ${AZURE_...} or Entra ID instead"
    if not host:
        return "url names no host"
    if scheme == "http" and not is_loopback_host(host):
        return "plain http is refused except to loopback (127.0.0.1, ::1, localhost, for tests): use https"
    if scheme not in ("http", "https"):
        return f"url scheme {scheme or '(none)'!r} is refused: use https"
    return None


def redirect_problem(target: str, original_loopback: bool) -> str | None:
    """Why a redirect to `target` must not be followed, or None. Checked before any connection to it: a
    dataset URL must not become a way to reach the runner's network (cloud metadata at 169.254.169.254,
    private services), nor loopback unless the original URL was loopback already."""
    problem = url_problem(target)
    if problem is not None:
        return f"redirected to {shown(target)}: {problem}"
    host = urlsplit(target).hostname or ""
    if is_loopback_host(host):
        return None if original_loopback else f"redirected to a loopback address ({shown(target)}); refused"
    try:
        addresses = _addresses(host)
    except OSError as e:
        return f"redirected to {shown(target)}, whose host does not resolve ({e.strerror or e})"
    for ip in addresses:
        if ip.is_loopback and not original_loopback:
            return f"redirected to {shown(target)}, a loopback address; refused"
        if not ip.is_loopback and not ip.is_global:
            return f"redirected to {shown(target)}, a private or reserved address ({ip}); refused"
    return None


def target_problem(url: str) -> str | None:
    """Why a notification must not be sent to `url` (expanded: it may hold a secret, so it is never quoted),
    or None. Private addresses are allowed (a team's own webhook relay lives there), but not the link-local
    range, where clouds serve instance metadata and credentials (169.254.169.254, fe80::), nor unspecified or
    multicast ones, nor loopback unless the URL says loopback itself. Checked on the addresses the host
    resolves to before the request; a host that resolves differently between the check and the request
    (DNS rebinding) is not covered."""
    problem = url_problem(url)
    if problem is not None:
        return problem
    host = urlsplit(url).hostname or ""
    if is_loopback_host(host):
        return None
    try:
        addresses = _addresses(host)
    except OSError as e:
        return f"its host does not resolve ({e.strerror or e})"
    for ip in addresses:
        if ip.is_link_local or ip.is_unspecified or ip.is_multicast:
            return (f"its host resolves to {ip}, a link-local, unspecified or multicast address (where clouds "
                    "serve instance metadata)")
        if ip.is_loopback:
            return f"its host resolves to {ip}, a loopback address, while the URL does not name loopback"
    return None


def _addresses(host: str) -> list[ipaddress.IPv4Address | ipaddress.IPv6Address]:
    try:
        return [ipaddress.ip_address(host)]
    except ValueError:
        pass
    infos = socket.getaddrinfo(host, None, proto=socket.IPPROTO_TCP)
    out = [ipaddress.ip_address(str(info[4][0]).split("%", 1)[0]) for info in infos]
    return [ip.ipv4_mapped if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped else ip for ip in out]


def needs_storage_token(url: str) -> bool:
    """An Azure Blob URL without a SAS: read with an Entra ID token for Azure Storage, if one can be had."""
    parts = urlsplit(url)
    host = (parts.hostname or "").lower()
    return parts.scheme.lower() == "https" and host.endswith(BLOB_SUFFIXES) and "sig=" not in parts.query.lower()
