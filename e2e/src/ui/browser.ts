// Debian's Chromium, driven headless by playwright-core (no browser download): where it is,
// whether the browser tests run without it, and a page per signed-in user.
import { access, mkdir } from "node:fs/promises";
import { constants } from "node:fs";
import { delimiter, join } from "node:path";
import { fileURLToPath } from "node:url";
import { chromium, type Browser, type BrowserContext, type Page } from "playwright-core";

/** Where the tests save their screenshots: docs/ui, shown by docs/ui.md and the README. */
export const screenshotDir = fileURLToPath(new URL("../../../docs/ui", import.meta.url));

/** The viewport of every screenshot, so they compare from run to run. */
export const viewport = { width: 1280, height: 800 } as const;

async function executable(path: string): Promise<boolean> {
  return access(path, constants.X_OK).then(
    () => true,
    () => false,
  );
}

/** Debian's chromium: /usr/bin/chromium, or a chromium on PATH; undefined when there is none. */
export async function findChromium(): Promise<string | undefined> {
  const candidates = ["/usr/bin/chromium"];
  for (const dir of (process.env["PATH"] ?? "").split(delimiter).filter(Boolean)) {
    for (const name of ["chromium", "chromium-browser"]) candidates.push(join(dir, name));
  }
  for (const path of candidates) if (await executable(path)) return path;
  return undefined;
}

/**
 * Why the browser tests are skipped, or false when they run. Without chromium they are skipped
 * on a workstation; under CI (`CI` set) a missing chromium fails them, since .ci/run installs it.
 */
export async function browserSkipReason(): Promise<string | false> {
  if (await findChromium()) return false;
  const message = "chromium is not installed (apt-get install chromium); the browser tests drive Debian's chromium";
  if (process.env["CI"]) throw new Error(`${message}, and CI is set: .ci/run installs it`);
  return `${message}: skipped`;
}

/** Starts headless chromium. */
export async function launchChromium(): Promise<Browser> {
  const executablePath = await findChromium();
  if (!executablePath) throw new Error("chromium is not installed (apt-get install chromium)");
  // --no-sandbox: CI containers run as root, where chromium's sandbox cannot start.
  return await chromium.launch({ executablePath, headless: true, args: ["--no-sandbox", "--disable-dev-shm-usage"] });
}

/** A fresh browser context (its own sessionStorage) in the light theme at the fixed viewport. */
export async function lightContext(browser: Browser): Promise<BrowserContext> {
  return await browser.newContext({ viewport, colorScheme: "light", reducedMotion: "reduce", locale: "en-US", timezoneId: "UTC" });
}

/** Opens the UI at `url` and signs in with `token` through the form; resolves once the app shows the caller. */
export async function signIn(page: Page, url: string, token: string, options: { screenshot?: string } = {}): Promise<void> {
  await page.goto(url);
  const field = page.getByLabel("API token");
  await field.waitFor();
  if (options.screenshot) await screenshot(page, options.screenshot);
  await field.fill(token);
  await page.getByRole("button", { name: "Sign in" }).click();
  await page.getByTestId("caller").waitFor();
}

/** Saves a screenshot of the page as docs/ui/<name>.png. */
export async function screenshot(page: Page, name: string): Promise<void> {
  await mkdir(screenshotDir, { recursive: true });
  await page.screenshot({ path: join(screenshotDir, `${name}.png`), fullPage: false, animations: "disabled", caret: "hide" });
}
