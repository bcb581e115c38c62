"""Shared test settings: hypothesis without wall-clock deadlines (CI machines are busy 2-core boxes)."""

from __future__ import annotations

from hypothesis import HealthCheck, settings

settings.register_profile("default", deadline=None, suppress_health_check=[HealthCheck.too_slow])
settings.load_profile("default")
