from hub.clock import ManualClock
from hub.ratelimit import RateLimiter


def test_bucket_refills_with_the_clock() -> None:
    clock = ManualClock()
    limiter = RateLimiter(clock, rate=2.0, burst=3)
    assert [limiter.take("u") for _ in range(3)] == [0.0, 0.0, 0.0]
    wait = limiter.take("u")
    assert 0.49 < wait <= 0.5
    assert limiter.take("other") == 0.0
    clock.advance(0.5)
    assert limiter.take("u") == 0.0
    assert limiter.take("u") > 0
