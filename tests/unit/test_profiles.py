"""Load profiles: the open-model schedule's arithmetic and the file's errors."""

from __future__ import annotations

from pathlib import Path

import pytest

from loadtests.profiles import ProfileError, load_profiles


def test_every_shipped_profile_loads_with_its_request_count() -> None:
    profiles = load_profiles()
    assert set(profiles) == {"steady", "step", "spike", "soak", "poison-mix", "duplicate-storm"}
    counts = {name: len(list(p.intended_starts())) for name, p in profiles.items()}
    assert counts["steady"] == 600  # 20/s for 30 s
    assert counts["step"] == 300 + 600 + 900
    assert counts["spike"] == 90 + 33 + 900 + 33 + 120  # ramps count their average rate
    assert profiles["poison-mix"].mix == {"valid": 0.9, "poison": 0.1}
    assert set(profiles["duplicate-storm"].mix) == {
        "valid",
        "duplicate",
        "burst_duplicate",
        "key_reuse",
    }


def test_intended_starts_follow_the_rate_within_each_second() -> None:
    spike = load_profiles()["spike"]
    starts = list(spike.intended_starts())
    assert starts == sorted(starts)
    per_second = [sum(1 for s in starts if n <= s < n + 1) for n in range(52)]
    assert per_second[5] == 6  # baseline
    assert per_second[25] == 60  # 10x during the spike
    assert per_second[45] == 6  # back to baseline
    assert spike.scaled(2).rate_at(25) == 120


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("profiles: {p: {stages: []}}", "profile 'p': stages: must be a non-empty list"),
        (
            "profiles: {p: {stages: [{duration: 10s, target: -5}]}}",
            "stages[0].target: -5 must be a number >= 0",
        ),
        (
            "profiles: {p: {stages: [{duration: soon, target: 5}]}}",
            "stages[0].duration: 'soon' is not like",
        ),
        (
            "profiles: {p: {stages: [{duration: 1s, target: 5}], mix: {evil: 1}}}",
            "mix.evil: unknown kind",
        ),
        (
            "profiles: {p: {stages: [{duration: 1s, target: 5}], rate: 4}}",
            "rate: is not a profile field",
        ),
        (
            "profiles: {p: {stages: [{duration: 1s, target: 5}], maxConcurrency: 0}}",
            "maxConcurrency: 0 must be a whole number >= 1",
        ),
        ("[1, 2]", "must be a mapping with a 'profiles' mapping"),
    ],
)
def test_mistakes_name_the_file_profile_and_field(tmp_path: Path, text: str, problem: str) -> None:
    path = tmp_path / "profiles.yaml"
    path.write_text(text)
    with pytest.raises(ProfileError) as error:
        load_profiles(path)
    assert str(path) in str(error.value)
    assert problem in str(error.value)
