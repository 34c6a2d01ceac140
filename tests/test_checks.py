"""colorlab.check: one line per claim, and a failed claim stops a normal run, not a FAST one."""

import pytest

import colorlab
from colorlab import checks, settings


def test_a_claim_that_holds_prints_a_tick(capsys):
    assert colorlab.check("the U-Net beats grey", 4.2, below=5.0)
    assert capsys.readouterr().out == "✓ the U-Net beats grey: 4.20 (claim: < 5.00)\n"
    assert colorlab.check("between", 0.8, above=0.6, below=1.2, digits=1)
    assert "(claim: > 0.6 and < 1.2)" in capsys.readouterr().out


def test_a_failed_claim_raises_in_a_normal_run_and_only_prints_in_fast_mode(monkeypatch, capsys):
    monkeypatch.setattr(settings, "FAST", False)
    with pytest.raises(checks.ClaimFailed, match=r"✗ the GAN is more vivid: 0.40 \(claim: > 0.50\)"):
        colorlab.check("the GAN is more vivid", 0.4, above=0.5)
    monkeypatch.setattr(settings, "FAST", True)
    assert not colorlab.check("the GAN is more vivid", 0.4, above=0.5)
    assert "not enforced" in capsys.readouterr().out
    with pytest.raises(checks.ClaimFailed):
        colorlab.check("enforced anyway", 0.4, above=0.5, enforce=True)


def test_a_claim_needs_a_bound():
    with pytest.raises(ValueError, match="needs a bound"):
        colorlab.check("no bound", 1.0)
