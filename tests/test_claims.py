"""Claims on a run, held on a real Dask scheduler in this process: one holder at a time, the others told when it
lets go, and a scheduler gone mid-call is the CancelledError that `foodcnn repro` turns into its one line."""

from collections.abc import Iterator
from concurrent.futures import CancelledError

import dask
import pytest
from distributed import Client, LocalCluster

from foodcnn.claims import Claims


@pytest.fixture
def cluster() -> Iterator[LocalCluster]:
    # TCP as between processes, where a stopped scheduler refuses at once; waits of seconds, not Dask's 30 s
    with dask.config.set({"distributed.comm.timeouts.connect": "3s"}):
        with LocalCluster(n_workers=0, processes=False, protocol="tcp://", dashboard_address="127.0.0.1:0") as local:
            yield local


def test_one_process_holds_a_claim_and_the_other_waits_until_it_lets_go(cluster):
    with Client(cluster) as first_client, Client(cluster) as second_client:
        first, second = Claims(first_client, "cache/runs"), Claims(second_client, "cache/runs")
        assert first.take("stage key") is None
        waiting = second.take("stage key")
        assert waiting is not None and not waiting.done()
        assert second.take("another key") is None  # a claim is on one run only
        first.let_go("stage key")
        assert waiting.result(timeout=60) is None
        assert first.take("stage key") is None  # the waiter let go once it saw the claim free


def test_the_same_key_in_another_run_cache_is_another_claim(cluster):
    with Client(cluster) as client:
        assert Claims(client, "one/runs").take("key") is None
        assert Claims(client, "other/runs").take("key") is None


def test_a_scheduler_gone_mid_call_is_a_cancelled_claim_for_the_taker_and_the_waiter(cluster):
    with Client(cluster) as first_client, Client(cluster) as second_client:
        assert Claims(first_client, "cache/runs").take("held") is None
        claims = Claims(second_client, "cache/runs")
        waiting = claims.take("held")
        assert waiting is not None
        cluster.scheduler.stop()
        with pytest.raises(CancelledError):
            claims.take("new")
        with pytest.raises(CancelledError):
            waiting.result(timeout=60)
