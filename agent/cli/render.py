"""Terminal rendering of questions and reports (rich), shared by the chat and other commands."""

from __future__ import annotations

from rich.console import Console
from rich.panel import Panel
from rich.table import Table

from agent.consult.session import PendingQuestion
from agent.report import FinalReport


def render_question(console: Console, question: PendingQuestion, show_reason: bool) -> None:
    if question.error:
        console.print(f"[red]{question.error}[/]")
        return
    console.print(f"\n[bold]Q{question.number}/{question.budget}[/] {question.text}")
    if show_reason and question.reason:
        console.print(f"  [dim]why: {question.reason}[/]")
    if question.kind == "B":
        console.print("  [dim]answer yes / no / don't know[/]")
    elif question.choices and not all(isinstance(v, int) for _, v in question.choices):
        for i, (label, _) in enumerate(question.choices, start=1):
            console.print(f"  {i:>2}. {label}")
        console.print("  [dim]a number (several separated by commas), no, or don't know[/]")
    else:
        console.print("  [dim]a number from 0 to 10, or don't know[/]")


def render_leading(console: Console, leading: list[tuple[str, float]]) -> None:
    if leading:
        text = ", ".join(f"{name} {p:.0%}" for name, p in leading)
        console.print(f"  [dim]leading: {text}[/]")


def render_report(console: Console, report: FinalReport, top: int = 10) -> None:
    if report.urgent:
        console.print(
            Panel(
                f"Urgent: {', '.join(report.urgent)} cannot be ruled out (severe condition).",
                style="bold white on red",
            )
        )
    table = Table(title="Differential diagnosis", show_lines=False)
    table.add_column("#", justify="right")
    table.add_column("Condition")
    table.add_column("Probability", justify="right")
    for i, item in enumerate(report.differential[:top], start=1):
        table.add_row(str(i), item.name, f"{item.probability:.1%}")
    console.print(table)
    for exp in report.explanations:
        flag = " [red](urgent)[/]" if exp.urgent else ""
        console.print(
            f"\n[bold]{exp.name}[/]{flag} {exp.probability:.1%} · ICD-10 {exp.icd10 or '—'}"
            + (f" · severity {exp.severity}" if exp.severity else "")
        )
        for effect in exp.raised_by:
            console.print(f"  [green]+[/] {effect.statement}")
        for effect in exp.lowered_by:
            console.print(f"  [red]-[/] {effect.statement}")
        if exp.not_yet_asked:
            console.print(f"  [dim]not yet asked: {', '.join(exp.not_yet_asked)}[/]")
        cited = [p.doc_id for p in report.passages if p.about == exp.name]
        if cited:
            console.print(f"  sources: {', '.join(cited)}", style="dim", markup=False)
    console.print(
        f"\n{report.questions_asked} questions asked; stopped: {report.stop_reason}.\n"
        f"[italic]{report.disclaimer}[/]"
    )
