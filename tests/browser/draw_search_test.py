#!/usr/bin/python3
"""The drawing page of `hcmsn serve` in headless Chromium.

Builds a tiny gallery with the CLI (synth-images, train, index) in a temporary folder, starts
`hcmsn serve --port 0`, loads `/`, draws strokes on the canvas with pointer actions and checks that
result tiles (photo, class, distance, nearest first) appear; then the k selector, undo and clear.
Ends the server with SIGINT and requires a clean exit.

Uses Debian's chromium, chromium-driver and python3-selenium; never downloads a browser. Exits 77
(ctest's SKIP_RETURN_CODE) when one of them is missing, 1 on any failure.
"""
import argparse
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request

CHROMIUM = "/usr/bin/chromium"
CHROMEDRIVER = "/usr/bin/chromedriver"
SKIP = 77

try:
    from selenium import webdriver
    from selenium.webdriver.chrome.options import Options
    from selenium.webdriver.chrome.service import Service
    from selenium.webdriver.common.action_chains import ActionChains
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import Select, WebDriverWait
except ImportError as e:
    print(f"SKIP: python3-selenium is not installed ({e})")
    sys.exit(SKIP)


def run(cli, *args):
    result = subprocess.run([cli, "--log-level", "warn", *args], capture_output=True, text=True)
    if result.returncode != 0:
        raise RuntimeError(f"hcmsn {' '.join(args)} failed:\n{result.stdout}{result.stderr}")


def build_gallery(cli, work):
    data, run_dir, gallery = f"{work}/data", f"{work}/run", f"{work}/gallery.hgi"
    run(cli, "synth-images", "--quiet", "--image-size", "24", "--photos-per-class", "3",
        "--sketches-per-class", "4", "--out", data)
    run(cli, "--threads", "2", "train", "--quiet", "--images", data, "--semantics",
        f"{data}/semantics.npy", "--semantics-classes", f"{data}/classes.txt", "--unseen",
        f"{data}/unseen.txt", "--out", run_dir, "--image-size", "16", "--cnn-channels", "4,8",
        "--cnn-out-dim", "16", "--dim", "16", "--hidden", "32", "--classes-per-batch", "6",
        "--per-class", "2", "--epochs", "2")
    run(cli, "index", "--run", run_dir, "--photos", f"{data}/photo", "--out", gallery, "--quiet")
    return gallery


def start_server(cli, gallery, log_path):
    """Starts `hcmsn serve --port 0` and returns (process, base URL) once it listens."""
    log = open(log_path, "w+")
    server = subprocess.Popen([cli, "serve", "--index", gallery, "--port", "0"], stdout=log,
                              stderr=subprocess.STDOUT)
    deadline = time.time() + 60
    while time.time() < deadline:
        log.seek(0)
        match = re.search(r"on (http://127\.0\.0\.1:\d+/)", log.read())
        if match:
            return server, match.group(1)
        if server.poll() is not None:
            break
        time.sleep(0.05)
    log.seek(0)
    raise RuntimeError(f"hcmsn serve did not start:\n{log.read()}")


def wait_healthy(url):
    deadline = time.time() + 120
    while time.time() < deadline:
        try:
            with urllib.request.urlopen(url + "api/health") as r:
                return json.load(r)
        except urllib.error.HTTPError as e:
            if e.code != 503:
                raise
        time.sleep(0.1)
    raise RuntimeError("the index did not load")


def draw(driver, canvas, points):
    """A stroke through `points`, offsets in CSS pixels from the canvas centre."""
    actions = ActionChains(driver, duration=20)
    x0, y0 = points[0]
    actions.move_to_element_with_offset(canvas, x0, y0).click_and_hold()
    for (xa, ya), (xb, yb) in zip(points, points[1:]):
        actions.move_by_offset(xb - xa, yb - ya)
    actions.release().perform()


def tiles(driver):
    """[(class, distance, image loaded)] of the result grid."""
    return driver.execute_script("""
        return Array.from(document.querySelectorAll('#results .result')).map(t => [
            t.querySelector('.cls').textContent, t.querySelector('.dist').textContent,
            t.querySelector('img').complete && t.querySelector('img').naturalWidth > 0]);""")


def searches(driver):
    """How many search answers the page has rendered."""
    return int(driver.find_element(By.ID, "results").get_attribute("data-searches") or 0)


def check(condition, message):
    if not condition:
        raise AssertionError(message)


def browser_checks(url, class_names):
    options = Options()
    options.binary_location = CHROMIUM
    for flag in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--disable-gpu",
                 "--window-size=1200,900"):
        options.add_argument(flag)
    driver = webdriver.Chrome(service=Service(CHROMEDRIVER), options=options)
    try:
        wait = WebDriverWait(driver, 60)
        driver.get(url)
        wait.until(lambda d: "ok" in d.find_element(By.ID, "status").get_attribute("class"))
        canvas = driver.find_element(By.ID, "pad")
        undo, clear = driver.find_element(By.ID, "undo"), driver.find_element(By.ID, "clear")
        check(not undo.is_enabled() and not clear.is_enabled(), "undo/clear enabled before drawing")

        # One stroke: ten tiles (the default k) with a class, a distance, nearest first, and a photo.
        draw(driver, canvas, [(-80, -60), (0, -100), (80, -60), (60, 40), (-60, 40), (-80, -60)])
        wait.until(lambda d: len(tiles(d)) == 10 and all(t[2] for t in tiles(d)))
        found = tiles(driver)
        check(all(c in class_names for c, _, _ in found), f"unknown classes in {found}")
        distances = [float(d) for _, d, _ in found]
        check(distances == sorted(distances), f"distances not ascending: {distances}")
        check(driver.execute_script(
            "const c = document.getElementById('pad');"
            "return c.getContext('2d').getImageData(0, 0, c.width, c.height).data"
            ".some((v, i) => i % 4 === 3 && v > 0);"), "the stroke was not drawn on the canvas")
        check(not driver.find_element(By.ID, "error").text, "an error is shown after a search")

        # k selector.
        before = searches(driver)
        Select(driver.find_element(By.ID, "k")).select_by_visible_text("5")
        wait.until(lambda d: searches(d) > before and len(tiles(d)) == 5)

        # A second stroke, then undo it (one stroke left: results stay), undo again (none: cleared).
        before = searches(driver)
        draw(driver, canvas, [(-20, -20), (20, 20)])
        wait.until(lambda d: searches(d) > before and len(tiles(d)) == 5)
        before = searches(driver)
        undo.click()
        wait.until(lambda d: searches(d) > before and len(tiles(d)) == 5)
        check(undo.is_enabled(), "undo disabled with one stroke left")
        undo.click()
        wait.until(lambda d: len(tiles(d)) == 0)
        check(not undo.is_enabled(), "undo enabled with no strokes")

        # Draw again, then clear: no results, an empty canvas.
        draw(driver, canvas, [(-50, 0), (50, 0), (0, 60)])
        wait.until(lambda d: len(tiles(d)) == 5)
        clear.click()
        wait.until(lambda d: len(tiles(d)) == 0)
        check(not driver.execute_script(
            "const c = document.getElementById('pad');"
            "return c.getContext('2d').getImageData(0, 0, c.width, c.height).data"
            ".some((v, i) => i % 4 === 3 && v > 0);"), "clear left ink on the canvas")
    finally:
        driver.quit()


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cli", required=True, help="the hcmsn binary")
    parser.add_argument("--keep", action="store_true", help="keep the temporary folder")
    args = parser.parse_args()
    for path in (CHROMIUM, CHROMEDRIVER):
        if not os.access(path, os.X_OK):
            print(f"SKIP: {path} is not installed (apt-get install chromium chromium-driver)")
            return SKIP

    work = tempfile.mkdtemp(prefix="hcmsn_browser_")
    # Chromium's own temporary folders go with the test's (it left one in /tmp per run).
    os.environ["TMPDIR"] = work
    server = None
    try:
        gallery = build_gallery(args.cli, work)
        server, url = start_server(args.cli, gallery, f"{work}/serve.log")
        health = wait_healthy(url)
        with urllib.request.urlopen(url + "api/classes") as r:
            class_names = {c["name"] for c in json.load(r)["classes"]}
        check(health["photos"] == 3 * len(class_names), f"unexpected health {health}")
        browser_checks(url, class_names)
        server.send_signal(signal.SIGINT)
        code = server.wait(timeout=30)
        server = None
        check(code == 0, f"hcmsn serve exited with {code} after SIGINT")
        print("PASS: drew, searched, changed k, undid and cleared in headless Chromium")
        return 0
    except Exception as e:  # noqa: BLE001 (the report is the point)
        print(f"FAIL: {type(e).__name__}: {e}")
        log = f"{work}/serve.log"
        if os.path.exists(log):
            print("--- serve log ---\n" + open(log).read()[-4000:])
        return 1
    finally:
        if server is not None:
            server.kill()
            server.wait()
        if not args.keep:
            shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
