"""bench.scaling predicts strong and weak scaling from plans alone (no MPI, no data): it
runs in seconds, writes its table, and its modelled HeAT pattern moves more bytes than
lazyheat's plans where HeAT all-reduces every rank's state."""

from bench import scaling


def test_scaling_tables_for_every_workload(tmp_path):
    rows = scaling.run(network="heat", max_ranks=8, out=tmp_path)
    text = (tmp_path / "SCALING.md").read_text()
    for name in scaling.STRONG:
        assert f"| {name} lazyheat (s)" in text and f"| {name} HeAT (s)" in text
        for mode in ("strong", "weak"):
            assert all(rows[(mode, name, p)][0] > 0 for p in (1, 2, 4, 8))
    # strong scaling: more ranks, less predicted time for lazyheat's k-means
    assert rows[("strong", "kmeans", 8)][0] < rows[("strong", "kmeans", 1)][0]


def test_heat_moments_pay_for_every_ranks_state_at_scale():
    """HeAT's mean/var all-reduce p states; lazyheat's combine one: the gap widens with p."""
    r = scaling.run.__globals__
    net, k = r["network_of"]("heat"), r["kernel_table"]()
    rows, cols = 10_000 * 1024, 16
    gap = [scaling.heat_seconds("moments", rows, cols, None, p, net, k) /
           scaling.lazyheat_seconds("moments", rows, cols, None, p, net, k) for p in (2, 1024)]
    assert gap[1] > 2 * gap[0]
