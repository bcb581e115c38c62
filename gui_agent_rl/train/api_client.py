"""``predict --api-base``: an OpenAI-compatible ``/chat/completions`` client (vLLM, SGLang, ...).

:class:`ApiGenerator` sends the training prompts with the screens resized to the training frame
(:mod:`~gui_agent_rl.train.api_frame`). :func:`post_json` retries what can pass (connection errors,
timeouts, HTTP 408/425/429 and 5xx) with exponential backoff (``wait_s`` doubled per attempt, at most
:data:`MAX_WAIT_S`, or the server's ``Retry-After`` when it says less), and fails at once on what cannot
(other 4xx, a reply that is not JSON). Every message that shows the URL shows it through
:func:`redact_url`, and an echoed error body goes through :func:`redact`: a server may echo the
request's key back.

>>> redact_url("http://user:secret@host:8000/v1?api_key=abc")
'http://***@host:8000/v1?api_key=***'
>>> redact('{"error": "bad key sk-abcdef123456", "auth": "Bearer abc.def"}')
'{"error": "bad key sk-***", "auth": "Bearer ***"}'
"""

from __future__ import annotations

import http.client
import json
import logging
import os
import re
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor, as_completed
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit, urlunsplit

from gui_agent_rl.train.api_frame import TRAINING_LIMITS, PixelLimits, image_data_url, resolve_pixel_limits
from gui_agent_rl.train.data import DataError, prompt_messages

if TYPE_CHECKING:
    from gui_agent_rl.train.predict import Pass, PredictSettings

logger = logging.getLogger(__name__)

MAX_WAIT_S = 30.0  # the longest pause between two attempts


def transient(status: int) -> bool:
    """Whether an HTTP status may pass on a retry: 408, 425, 429, and 5xx but 501/505 (never will)."""
    return status in (408, 425, 429) or (status >= 500 and status not in (501, 505))


_SECRET_QUERY = re.compile(r"(?i)((?:api[_-]?key|key|token|secret|password|sig)=)[^&#\s]*")
_PATTERNS = (
    (re.compile(r"(?i)\b(bearer|basic)\s+[A-Za-z0-9._~+/=-]+"), r"\1 ***"),
    (re.compile(r"\bsk-[A-Za-z0-9_-]{4,}"), "sk-***"),
    (re.compile(r"([A-Za-z][A-Za-z0-9+.-]*://)[^/\s@]+@"), r"\1***@"),
    (re.compile(r'(?i)("?(?:api[_-]?key|token|secret|password)"?\s*[:=]\s*"?)[^"\s,&}]+'), r"\1***"),
    (_SECRET_QUERY, r"\1***"),
)


def redact_url(url: str) -> str:
    """``url`` without its ``user:password@`` and with secret-looking query values masked."""
    try:
        parts = urlsplit(url)
    except ValueError:
        return redact(url)
    netloc = parts.netloc
    if "@" in netloc:
        netloc = "***@" + netloc.rsplit("@", 1)[1]
    return urlunsplit(parts._replace(netloc=netloc, query=_SECRET_QUERY.sub(r"\1***", parts.query)))


def redact(text: str, secrets: Iterable[str | None] = ()) -> str:
    """``text`` with each of ``secrets`` and anything that looks like a credential replaced by ``***``."""
    for secret in secrets:
        if secret and len(secret) >= 4:
            text = text.replace(secret, "***")
    for pattern, replacement in _PATTERNS:
        text = pattern.sub(replacement, text)
    return text


def check_api_base(api_base: str) -> str:
    """The base URL as given, if it is a plain ``http(s)://host[:port]/path``; DataError otherwise."""
    try:
        parts = urlsplit(api_base)
    except ValueError:
        parts = None
    if parts is None or parts.scheme not in ("http", "https") or not parts.hostname:
        raise DataError(
            f"--api-base {redact_url(api_base)}: expected an http(s) URL, e.g. http://host:8000/v1"
        )
    if "@" in parts.netloc:
        raise DataError(
            f"--api-base {redact_url(api_base)}: credentials in the URL are not sent; "
            "give the key with --api-key or $OPENAI_API_KEY"
        )
    return api_base


def _retry_after(exc: urllib.error.HTTPError) -> float | None:
    try:
        return max(0.0, float(exc.headers.get("Retry-After", "")))
    except (AttributeError, TypeError, ValueError):
        return None


def _body_start(exc: urllib.error.HTTPError) -> str:
    """The first 200 bytes of an error reply (decoded), or "" when it cannot be read."""
    try:
        return exc.read()[:200].decode("utf-8", "replace")
    except (OSError, http.client.HTTPException):
        return ""


def _attempt(request: urllib.request.Request, timeout: float) -> Any:
    with urllib.request.urlopen(request, timeout=timeout) as resp:
        return json.loads(resp.read())


def post_json(
    url: str,
    body: dict[str, Any],
    headers: dict[str, str],
    *,
    timeout: float,
    retries: int,
    wait_s: float = 1.0,
    what: str = "",
    secrets: Iterable[str | None] = (),
    sleep: Callable[[float], None] = time.sleep,
) -> Any:
    """The JSON reply to POSTing ``body``; ``retries`` more attempts after transient failures.

    Raises :class:`DataError` (one line, credentials redacted) when the server refuses the request or
    still fails after the last attempt. ``what`` names the request in messages (e.g. ``for id 7``).
    """
    data = json.dumps(body, ensure_ascii=False).encode("utf-8")
    shown, secrets = redact_url(url), list(secrets)
    for attempt in range(retries + 1):
        request = urllib.request.Request(url, data=data, headers=headers)
        try:
            return _attempt(request, timeout)
        except urllib.error.HTTPError as exc:
            detail = redact(_body_start(exc), secrets)
            reason, hint = f"HTTP {exc.code}{what}: {detail}", _retry_after(exc)
            if not transient(exc.code):
                raise DataError(f"{shown}: {reason}") from None
        except (urllib.error.URLError, TimeoutError, ConnectionError, http.client.HTTPException) as exc:
            reason, hint = f"unreachable{what} ({redact(str(exc), secrets)})", None
        except ValueError as exc:  # JSONDecodeError and UnicodeDecodeError: not a JSON reply
            raise DataError(f"{shown}: reply{what} is not JSON ({exc})") from None
        if attempt == retries:
            break
        delay = min(MAX_WAIT_S, wait_s * 2**attempt if hint is None else hint)
        logger.warning("%s: %s; retry %d/%d in %.1f s", shown, reason, attempt + 1, retries, delay)
        sleep(delay)
    raise DataError(f"{shown}: {reason} (after {retries + 1} attempts)")


def api_messages(record: dict[str, Any], limits: PixelLimits = TRAINING_LIMITS) -> list[dict[str, Any]]:
    """The prompt in OpenAI chat format: ``image_url`` parts (screens resized to ``limits``) at markers."""
    urls = iter([image_data_url(p, limits) for p in record["image_paths"]])
    parts = []
    for part in prompt_messages(record["human"], len(record["image_paths"]))[0]["content"]:
        if part["type"] == "image":
            parts.append({"type": "image_url", "image_url": {"url": next(urls)}})
        else:
            parts.append(part)
    return [{"role": "user", "content": parts}]


class ApiGenerator:
    """An OpenAI-compatible ``/chat/completions`` endpoint (vLLM, SGLang, ...), ``batch_size`` in flight.

    A sampled pass asks for ``n`` choices in one request and tops up with further requests when the
    server returns fewer (some ignore ``n``); sampled requests send ``top_k: -1`` so a checkpoint's
    generation config (vLLM applies it by default) cannot turn sampling into greedy decoding. Screens
    are resized on this side to the training frame (limits: settings, else ``model``'s saved processor).
    """

    def __init__(self, model: str, api_base: str, api_key: str | None, settings: PredictSettings) -> None:
        self.model, self.settings = model, settings
        self.url = check_api_base(api_base).rstrip("/") + "/chat/completions"
        self.limits = resolve_pixel_limits(model, settings.min_pixels, settings.max_pixels)
        self.api_key = api_key or os.environ.get("OPENAI_API_KEY") or "EMPTY"
        self.secrets = [key for key in (api_key, os.environ.get("OPENAI_API_KEY")) if key]

    def _body(self, messages: list[dict[str, Any]], step: Pass, n: int, attempt: int) -> dict[str, Any]:
        body: dict[str, Any] = {
            "model": self.model,
            "messages": messages,
            "max_tokens": self.settings.max_new_tokens,
            "temperature": step.temperature,
        }
        if step.temperature > 0:
            body.update(top_p=self.settings.top_p, top_k=-1)
            if n > 1:
                body["n"] = n
            if self.settings.seed is not None:  # a top-up must not repeat the first request's draws
                body["seed"] = self.settings.seed + attempt
        return body

    def _post(self, body: dict[str, Any], sample_id: Any) -> list[str]:
        reply = post_json(
            self.url,
            body,
            {"Content-Type": "application/json", "Authorization": f"Bearer {self.api_key}"},
            timeout=self.settings.timeout_s,
            retries=self.settings.retries,
            wait_s=self.settings.retry_wait_s,
            what=f" for id {sample_id}",
            secrets=self.secrets,
        )
        try:
            texts = [choice["message"]["content"] or "" for choice in reply["choices"]]
        except (KeyError, TypeError):
            texts = []
        if not texts:
            shown = redact(str(reply)[:200], self.secrets)
            raise DataError(f"{redact_url(self.url)}: unexpected reply for id {sample_id}: {shown}")
        return texts

    def _completions(self, record: dict[str, Any], passes: Sequence[Pass]) -> list[list[str]]:
        messages = api_messages(record, self.limits)
        out = []
        for step in passes:
            texts: list[str] = []
            for attempt in range(step.n):  # every reply holds >= 1 choice: n requests at most
                texts += self._post(self._body(messages, step, step.n - len(texts), attempt), record["id"])
                if len(texts) >= step.n:
                    break
            out.append(texts[: step.n])
        return out

    def generate(self, batch: Sequence[dict[str, Any]], passes: Sequence[Pass]) -> list[list[list[str]]]:
        """``[record][pass]`` -> that pass's ``n`` completions, the records' requests in parallel."""
        with ThreadPoolExecutor(max_workers=len(batch)) as pool:
            return list(pool.map(lambda record: self._completions(record, passes), batch))

    def each(self, batch: Sequence[dict[str, Any]], passes: Sequence[Pass]) -> Iterator[tuple[dict, list]]:
        """``(record, completions by pass)`` as each record's requests finish, the records in parallel;
        a failed record's error is raised after the others have been yielded (so they can be kept)."""
        error: BaseException | None = None
        with ThreadPoolExecutor(max_workers=len(batch)) as pool:
            futures = {pool.submit(self._completions, record, passes): record for record in batch}
            for future in as_completed(futures):
                if future.exception() is not None:
                    error = error or future.exception()
                    continue
                yield futures[future], future.result()
        if error is not None:
            raise error
