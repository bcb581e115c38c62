"""``llm_judge``: an OpenAI-compatible chat endpoint grades the answer against the true action.

Configured like the seed: ``OPENAI_API_BASE`` (e.g. ``http://host:7869/v1``) and ``OPENAI_API_KEY``,
read when the reward first runs (never at import). Each request has a timeout and is retried with
exponential backoff on network errors, 429 and 5xx; replies are cached in memory by (model, truth,
answer), so the G identical answers of a collapsed group cost one request. When the endpoint still
fails, the completion scores :data:`FALLBACK_SCORE` and a warning is logged (never the key).
"""

from __future__ import annotations

import hashlib
import logging
import os
import re
import time
import urllib.error
import urllib.parse
import urllib.request
from collections import OrderedDict
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import orjson

from gui_agent_rl.rewards.parsing import answer_text

log = logging.getLogger(__name__)

FALLBACK_SCORE = 0.0  # what a completion scores when the judge can't be reached
DEFAULT_MODEL = "gpt-4o-mini"
MAX_ANSWER_CHARS = 4000  # longer answers are cut: the judge needs the action, not a novel
CACHE_SIZE = 8192
SYSTEM_PROMPT = (
    "You grade a phone-operating agent. Compare the agent's action with the reference action "
    "(same JSON format). Reply with one number from 0 to 10: 10 when the action would do the same "
    "thing as the reference, 0 when it is unrelated or malformed."
)
_NUMBER = re.compile(r"-?\d+(?:\.\d+)?")


def _public(url: str) -> str:
    """``url`` without any ``user:password@`` part, for log messages."""
    parts = urllib.parse.urlsplit(url)
    return parts._replace(netloc=(parts.hostname or "") + (f":{parts.port}" if parts.port else "")).geturl()


class JudgeUnavailable(Exception):
    """The endpoint failed after every retry."""


def parse_grade(reply: str) -> float | None:
    """The first number of a reply as a 0-1 score (out of 10), None when there is none.

    >>> parse_grade("Score: 7/10")
    0.7
    """
    m = _NUMBER.search(reply)
    return None if m is None else min(1.0, max(0.0, float(m.group()) / 10.0))


class LLMJudgeReward:
    """TRL reward scoring each completion's answer with an LLM judge, in [0, 1]."""

    __name__ = "llm_judge"

    def __init__(
        self,
        model: str | None = None,
        *,
        base_url: str | None = None,
        api_key: str | None = None,
        timeout: float = 30.0,
        retries: int = 3,
        backoff: float = 0.5,
        workers: int = 8,
    ) -> None:
        if timeout <= 0 or retries < 0 or backoff < 0 or workers < 1:
            raise ValueError("llm_judge needs timeout > 0, retries >= 0, backoff >= 0 and workers >= 1")
        self.model, self.base_url, self.api_key = model, base_url, api_key
        self.timeout, self.retries, self.backoff, self.workers = timeout, retries, backoff, workers
        self._cache: OrderedDict[str, float] = OrderedDict()

    def __getstate__(self) -> dict[str, Any]:
        return {**self.__dict__, "_cache": OrderedDict()}  # the cache stays in its process

    def _endpoint(self) -> tuple[str, str, str]:
        base = self.base_url or os.environ.get("OPENAI_API_BASE")
        if not base:
            raise ValueError("the llm_judge reward needs OPENAI_API_BASE (an OpenAI-compatible /v1 URL)")
        key = self.api_key or os.environ.get("OPENAI_API_KEY", "")
        model = self.model or os.environ.get("LLM_JUDGE_MODEL") or DEFAULT_MODEL
        return base.rstrip("/") + "/chat/completions", key, model

    def _post(self, url: str, key: str, body: bytes) -> str:
        headers = {"Content-Type": "application/json"}
        if key:
            headers["Authorization"] = f"Bearer {key}"
        request = urllib.request.Request(url, data=body, headers=headers, method="POST")
        with urllib.request.urlopen(request, timeout=self.timeout) as response:
            reply = orjson.loads(response.read())
        return str(reply["choices"][0]["message"]["content"])

    def _ask(self, url: str, key: str, body: bytes) -> str:
        for attempt in range(self.retries + 1):
            try:
                return self._post(url, key, body)
            except urllib.error.HTTPError as exc:
                reason = f"HTTP {exc.code}"
                if exc.code != 429 and exc.code < 500:
                    raise JudgeUnavailable(reason) from None
            except (urllib.error.URLError, TimeoutError, OSError) as exc:
                reason = f"{type(exc).__name__}: {getattr(exc, 'reason', exc)}"
            except (orjson.JSONDecodeError, KeyError, IndexError, TypeError) as exc:
                reason = f"unexpected reply ({type(exc).__name__})"
            if attempt < self.retries:
                time.sleep(self.backoff * 2**attempt)
        raise JudgeUnavailable(f"{reason} after {self.retries + 1} attempts")

    def _grade(self, model: str, truth: str, answer: str, url: str, key: str) -> float | None:
        """The judge's grade; None when the endpoint failed (scored as the fallback, not cached)."""
        messages = [
            {"role": "system", "content": SYSTEM_PROMPT},
            {"role": "user", "content": f"Reference action:\n{truth}\n\nAgent action:\n{answer}"},
        ]
        body = orjson.dumps({"model": model, "messages": messages, "temperature": 0, "max_tokens": 16})
        try:
            reply = self._ask(url, key, body)
        except JudgeUnavailable as exc:
            log.warning("llm_judge: %s unreachable (%s); scoring %s", _public(url), exc, FALLBACK_SCORE)
            return None
        grade = parse_grade(reply)
        if grade is None:
            log.debug("llm_judge: no number in reply %r; scoring 0", reply[:80])
            return 0.0
        return grade

    def __call__(
        self, prompts: Any = None, completions: Any = None, completion_ids: Any = None, **columns: Any
    ) -> list[float]:
        completions = list(completions or [])
        if not completions:
            return []
        url, key, model = self._endpoint()
        truths = columns.get("solution") or [""] * len(completions)
        keys: list[str | None] = []
        todo: dict[str, tuple[str, str]] = {}
        for completion, truth in zip(completions, truths, strict=True):
            answer = answer_text(completion)  # the answer given after the thinking, not one inside it
            if not answer:
                keys.append(None)  # nothing to judge: 0 without a request
                continue
            pair = (str(truth), answer.strip()[:MAX_ANSWER_CHARS])
            keys.append(hashlib.sha256(orjson.dumps([model, *pair])).hexdigest())
            if keys[-1] not in self._cache:
                todo[keys[-1]] = pair
        fresh: dict[str, float] = {}
        if todo:
            with ThreadPoolExecutor(max_workers=max(1, min(self.workers, len(todo)))) as pool:
                grades = list(pool.map(lambda p: self._grade(model, p[0], p[1], url, key), todo.values()))
            fresh = {k: FALLBACK_SCORE if g is None else g for k, g in zip(todo, grades, strict=True)}
            self._cache.update({k: g for k, g in zip(todo, grades, strict=True) if g is not None})
        scores = [0.0 if k is None else fresh.get(k, self._cache.get(k, FALLBACK_SCORE)) for k in keys]
        while len(self._cache) > CACHE_SIZE:
            self._cache.popitem(last=False)
        return scores
