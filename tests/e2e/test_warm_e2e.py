"""A real server fills the lessons' shared caches in the background, from its first session on."""

from benchmarks.app_bench import WARM_LOG_LINE


def test_the_server_warms_the_lessons_caches_quietly(app_server, page):
    # The page fixture has opened the app: the server's first session starts the warm-up.
    assert app_server.wait_for_log(WARM_LOG_LINE, timeout=300) is not None, app_server.log.read_text()[-3000:]
    log = app_server.log.read_text()
    for warmed in ("PCA curve on fashion-mnist", "robustness curve of dae-fashion",
                   "encoded test set of vae-fashion-2d", "sample quality of dcgan-fashion"):
        assert warmed in log
    # The warm-up thread has no script context; Streamlit's warning about that is silenced for it.
    assert "missing ScriptRunContext" not in log
