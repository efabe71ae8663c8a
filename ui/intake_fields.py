"""Age and sex, shared by both intakes (common conditions, rare diseases): the same widget
keys, so switching the knowledge keeps what was typed."""

from __future__ import annotations

import streamlit as st

AGE_KEY, SEX_KEY = "intake_age", "intake_sex"


def render_demographics() -> None:
    left, right = st.columns([1, 1])
    left.number_input("Age (years)", min_value=0, max_value=130, value=None, key=AGE_KEY)
    right.radio("Sex", ["F", "M"], index=None, horizontal=True, key=SEX_KEY)


def demographics() -> tuple[int | None, str | None]:
    """(age, sex) as typed; None for what is not given."""
    age = st.session_state.get(AGE_KEY)
    sex = st.session_state.get(SEX_KEY)
    return (int(age) if age is not None else None), (sex if sex in ("F", "M") else None)
