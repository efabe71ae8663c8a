"""Doctors in a consultation: the report recommends doctors for the leading diagnosis when a
doctor directory is configured.

The ranking itself is knowledge (``retrieval.doctors``: criteria, first stage, rankers); what
the consultation adds is only when to use it, so this module reads the settings and puts the
directory's recommender in the context as its ``DoctorFinder``
(``DoctorRecommender.recommend_for`` returns the report's entries).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from agent.settings import DdxSettings
    from retrieval.ddxplus_kb import KnowledgeBase
    from retrieval.doctors.first_stage import OnProgress
    from retrieval.doctors.recommend import DoctorRecommender


def open_doctor_finder(
    settings: DdxSettings,
    kb: KnowledgeBase | None,
    *,
    progress: bool = True,
    on_progress: OnProgress | None = None,
) -> DoctorRecommender | None:
    """The recommender over ``settings.doctor_directory`` (its index built on first use, then
    reused), with the knowledge base's criteria; None when no directory is configured.
    ``progress`` draws terminal bars, ``on_progress`` hears each step (the app's bar)."""
    if settings.doctor_directory is None:
        return None
    from retrieval.doctors.recommend import DoctorRecommender

    return DoctorRecommender.open(
        settings.doctor_directory,
        state_dir=settings.state_dir,
        kb=kb,
        progress=progress,
        on_progress=on_progress,
    )
