"""A cheap stand-in claim for testing the verify framework and the command line.

Its runs draw seeded normal numbers; ``mode`` makes the claim pass, fail, be
inconclusive or raise inside a run.
"""

from __future__ import annotations

from riemgn.verify import Check, Claim, Task, Verdict
from riemgn.verify._common import new_figure, run_rng, run_seed


def draw(entropy, scale, mode):
    if mode == "raise":
        raise FloatingPointError("deliberate failure in a run")
    return {"x": float(run_rng(entropy).standard_normal() * scale)}


def tasks(config, *, data, seed):
    return [
        Task(
            f"run {k}",
            draw,
            {
                "entropy": run_seed(seed, "C9", k),
                "scale": config["scale"],
                "mode": config["mode"],
            },
        )
        for k in range(config["runs"])
    ]


def evaluate(config, results):
    xs = [r["x"] for r in results]
    largest = max(abs(x) for x in xs)
    if config["mode"] == "inconclusive":
        return Verdict.inconclusive("every run left the region", {"xs": xs})
    bound = 1e-3 if config["mode"] == "fail" else 100.0
    return Verdict(
        [Check.below("max_abs_x", largest, bound)],
        {"xs": xs, "n": len(xs)},
        "max_abs_x",
    )


def figure(config, results, verdict):
    fig, (ax,) = new_figure(1)
    ax.plot([r["x"] for r in results], "o-", label="x")
    ax.set(title="Dummy draws", xlabel="run", ylabel="x")
    return fig


def make(claim_id="C9", mode="pass", runs=4, data=("synthetic", "diabetes")):
    preset = {"runs": runs, "scale": 1.0, "mode": mode}
    return Claim(
        id=claim_id,
        title=f"dummy {mode}",
        statement="Seeded normal draws are small.",
        criterion="max |x| <= 100",
        presets={"quick": preset, "full": {**preset, "runs": 2 * runs}},
        tasks=tasks,
        evaluate=evaluate,
        figure=figure,
        data=data,
    )
