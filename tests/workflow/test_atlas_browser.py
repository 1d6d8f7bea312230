"""The tiny run's atlas in a real browser (headless Chromium through Selenium): every network of
a view is drawn, a click on a point opens that network's card, a group shows its block of the
distance matrix, and the page is not blank.

Chromium and its driver come from Debian (``apt-get install chromium chromium-driver``), which
this test runs when they are missing and the machine allows it (root and apt-get;
``RNNATLAS_BROWSER_INSTALL=0`` forbids it); otherwise it is skipped with the reason.
"""

import os
import shutil
import subprocess
import time

import pytest

pytestmark = pytest.mark.browser

BINARIES = ("chromium", "chromedriver")


def _have_browser() -> bool:
    return all(shutil.which(b) for b in BINARIES)


def _install_browser() -> str | None:
    """None when Chromium and its driver are there (installed now if need be), else why not."""
    if _have_browser():
        return None
    if os.environ.get("RNNATLAS_BROWSER_INSTALL", "1") == "0":
        return "Chromium is not installed and RNNATLAS_BROWSER_INSTALL=0 forbids installing it"
    if os.geteuid() != 0 or not shutil.which("apt-get"):
        return "Chromium is not installed and this machine cannot install it (needs root and apt-get)"
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    for cmd in (["apt-get", "install", "-y", "-q", "chromium", "chromium-driver"],
                ["apt-get", "update", "-q"], ["apt-get", "install", "-y", "-q", "chromium", "chromium-driver"]):
        subprocess.run(cmd, capture_output=True, text=True, timeout=900, env=env)
        if _have_browser():
            return None
    return "apt-get could not install chromium and chromium-driver"


@pytest.fixture(scope="module")
def browser():
    reason = _install_browser()
    if reason:
        pytest.skip(reason)
    webdriver = pytest.importorskip("selenium.webdriver")
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    for arg in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--window-size=1400,1000"):
        options.add_argument(arg)
    options.binary_location = shutil.which("chromium")
    driver = webdriver.Chrome(service=Service(shutil.which("chromedriver")), options=options)
    yield driver
    driver.quit()


def wait_for(driver, script: str, timeout: float = 30.0):
    """The value of ``script`` once it is truthy (polled), or a failure naming it."""
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        value = driver.execute_script(script)
        if value:
            return value
        time.sleep(0.1)
    raise AssertionError(f"timed out waiting for: {script}")


def points(driver):
    from selenium.webdriver.common.by import By

    return driver.find_elements(By.CSS_SELECTOR, "#map .scatterlayer .point")


def point_network(driver, element) -> int:
    """The network index a drawn point stands for (its trace's customdata)."""
    return driver.execute_script("const el = arguments[0], trace = el.closest('.trace').__data__[0].trace;"
                                 "return trace.customdata[el.__data__.i];", element)


@pytest.fixture(scope="module")
def page(browser, tiny_run):
    browser.get((tiny_run / "atlas" / "index.html").as_uri())
    wait_for(browser, "return window.RNNATLAS && window.RNNATLAS.ready")
    return browser


def test_every_network_of_each_view_is_drawn(page):
    sections = page.execute_script("return RNNATLAS.data.sections.map(s => [s.key, s.ids.length, "
                                   "s.views.map(v => [v.name, v.members.length])])")
    assert sections
    for key, n_networks, views in sections:
        for view, members in [*views, ["fields", None]]:
            page.execute_script("RNNATLAS.setSection(arguments[0], arguments[1])", key, view)
            drawn = points(page)
            if view == "fields":  # every network with both fields: the note says how many
                note = page.find_element("id", "view-note").text
                members = int(note.split(" of ")[0])
                assert note.split(" of ")[1].startswith(f"{n_networks} networks"), note
            assert len(drawn) == members, (key, view)
            shown = sorted(point_network(page, p) for p in drawn)
            assert len(set(shown)) == len(shown), (key, view)


def test_a_click_opens_the_card_of_the_clicked_network(page):
    from selenium.webdriver.common.action_chains import ActionChains

    page.execute_script("RNNATLAS.setSection('universality.flipflop', 'svcca')")
    ids = page.execute_script("return RNNATLAS.data.sections.find(s => s.key === 'universality.flipflop').ids")
    for element in points(page)[:3]:
        expected = ids[point_network(page, element)]
        ActionChains(page).move_to_element(element).click().perform()
        shown = wait_for(page, "const t = document.getElementById('card-id').textContent; "
                               "return document.querySelectorAll('#card-body .part').length ? t : null")
        assert shown == expected
        kinds = page.execute_script("return [...document.querySelectorAll('#card-body .part')].map(p => p.className)")
        assert {"part part-table", "part part-curves", "part part-trajectories"} <= set(kinds)
        # the trajectory panel drew its lines (a Plotly graph with at least one trace)
        assert page.execute_script("return document.querySelector('.part-trajectories .plot').data.length") >= 1


def test_a_group_shows_its_block_of_the_distance_matrix(page):
    from selenium.webdriver.support.ui import Select

    page.execute_script("RNNATLAS.setSection('universality.flipflop', 'svcca')")
    group = Select(page.find_element("id", "group-select"))
    group.select_by_index(1)  # the first value of the colour field (arch)
    title = wait_for(page, "const p = document.getElementById('block-panel'); "
                           "return p.hidden ? null : document.getElementById('block-title').textContent")
    value = group.first_selected_option.get_attribute("value")
    expected = page.execute_script("const s = RNNATLAS.data.sections.find(s => s.key === 'universality.flipflop');"
                                   "return s.fields.arch.filter(v => String(v) === arguments[0]).length", value)
    assert f"{expected} networks" in title
    z = page.execute_script("return document.getElementById('block').data[0].z")
    assert len(z) == expected and all(len(row) == expected for row in z)
    assert all(abs(z[i][i]) < 1e-9 for i in range(expected))  # a distance matrix's zero diagonal


def test_screenshot_is_not_blank(page, tmp_path):
    import numpy as np
    from PIL import Image

    page.execute_script("RNNATLAS.setSection('universality.flipflop', 'svcca')")
    path = tmp_path / "atlas.png"
    page.save_screenshot(str(path))
    image = np.asarray(Image.open(path).convert("RGB"), dtype=float)
    # the map's own rectangle (the header and controls alone would not be blank either)
    box = page.execute_script("const r = document.getElementById('map').getBoundingClientRect();"
                              "return [r.left, r.top, r.right, r.bottom].map(v => v * window.devicePixelRatio);")
    left, top, right, bottom = (int(v) for v in box)
    plot = image[top:bottom, left:right]
    assert plot.shape[0] > 200 and plot.shape[1] > 200
    assert plot.std() > 10
    assert len(np.unique(plot.reshape(-1, 3), axis=0)) > 50
