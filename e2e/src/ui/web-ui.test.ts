// The web UI in a real browser (Debian's chromium, headless) against the demo fleet on the lab:
// sign in, the 3 clusters synced on the overview, drift caused through the Kubernetes API that
// shows on the drift page without a reload, a promotion through the button whose dialog shows the
// diff, and a viewer who sees no promote button and gets 403 posting anyway. Each page is saved
// as a screenshot in docs/ui. The steps share one fleet and run in order.
import assert from "node:assert/strict";
import { fileURLToPath } from "node:url";
import { after, before, describe, test } from "node:test";
import type { Browser, Page } from "playwright-core";
import { kubeConfigFor, mergePatchAs } from "../kube-client.js";
import { startFleet, type Fleet } from "../fleet/fleet.js";
import { demoClusters, demoFile, overlayFile, startDemoAgents, waitForWebHealthy, waitForWebImage, webImage, withTag } from "../fleet/promotions.js";
import { buildWebUi } from "../fleet/web-ui.js";
import { browserSkipReason, launchChromium, lightContext, screenshot, signIn } from "./browser.js";

const seed = fileURLToPath(new URL("../../fixtures/demo-fleet", import.meta.url));
const clusters = Object.keys(demoClusters) as (keyof typeof demoClusters)[];
const skip = await browserSkipReason();
const wait = { timeout: 120_000 };

/** What the tests read of the page's globals (this package is typed without the DOM library). */
interface InPage {
  gitfleetMark?: boolean;
  document: { cookie: string; activeElement: unknown };
}

void describe("the web UI in chromium, on the demo fleet", { skip, timeout: 900_000 }, () => {
  let fleet: Fleet;
  let browser: Browser;
  let page: Page;

  /** Marks the document, so a later check can tell that no reload happened in between. */
  const markDocument = (): Promise<void> => page.evaluate(() => void ((globalThis as unknown as InPage).gitfleetMark = true));
  const documentMarked = (): Promise<boolean> => page.evaluate(() => (globalThis as unknown as InPage).gitfleetMark === true);
  const goTo = async (link: string): Promise<void> => {
    await page.getByRole("navigation", { name: "Pages" }).getByRole("link", { name: link }).click();
    await page.getByRole("heading", { level: 1 }).first().waitFor();
  };

  before(async () => {
    await buildWebUi();
    fleet = await startFleet({ clusters, seed, webhookOnPush: true });
    await startDemoAgents(fleet, clusters, ["web"]);
    browser = await launchChromium();
    page = await (await lightContext(browser)).newPage();
  });

  after(async () => {
    await browser?.close();
    await fleet?.stop();
  });

  void test("1. sign in with the admin token, kept in the tab's sessionStorage only", async () => {
    await signIn(page, `${fleet.hubUrl}/`, fleet.adminToken, { screenshot: "sign-in" });
    assert.match(await page.getByTestId("caller").innerText(), /\(admin\)/);
    const stored = await page.evaluate(() => ({ session: Object.values(sessionStorage), local: Object.values(localStorage), cookie: (globalThis as unknown as InPage).document.cookie }));
    assert.deepEqual(stored, { session: [fleet.adminToken], local: [], cookie: "" });
  });

  void test("2. the overview shows the 3 clusters with every bundle synced, in words as well as colour", async () => {
    await page.getByRole("heading", { name: "Fleet overview" }).waitFor();
    for (const cluster of clusters) {
      for (const bundle of ["platform", "web"]) {
        await page.locator(`[data-cluster="${cluster}"] [data-bundle="${bundle}"]`).filter({ hasText: /^✓synced/ }).waitFor(wait);
      }
    }
    assert.match(await page.getByTestId("overview-summary").innerText(), /^3 clusters, 2 bundles: 6 synced, 0 drifted/);
    await screenshot(page, "overview");

    // The selector is applied by the hub: only prod clusters come back.
    await page.getByLabel("Label selector").fill("env=prod");
    await page.getByRole("button", { name: "Filter" }).click();
    await page.getByTestId("overview-summary").filter({ hasText: /^2 clusters/ }).waitFor(wait);
    assert.equal(await page.locator("[data-cluster]").count(), 2);
    assert.equal(await page.locator('[data-cluster="staging-us"]').count(), 0);
    await page.getByLabel("Label selector").fill("");
    await page.getByRole("button", { name: "Filter" }).click();
    await page.getByTestId("overview-summary").filter({ hasText: /^3 clusters/ }).waitFor(wait);
  });

  void test("3. the cluster page lists its bundles and their objects with their state", async () => {
    await page.locator('[data-cluster="prod-eu"]').getByRole("link", { name: "prod-eu" }).click();
    await page.getByRole("heading", { name: "Cluster prod-eu" }).waitFor();
    await page.locator('[data-bundle="web"]').getByRole("cell", { name: "Deployment web/web" }).waitFor(wait);
    await page.locator('[data-bundle="platform"]').getByRole("cell", { name: "Namespace observability" }).waitFor(wait);
    await screenshot(page, "cluster");
  });

  void test("4. drift caused through the Kubernetes API appears on the drift page without a reload", async () => {
    await goTo("Drift");
    await page.getByText("No drift: every object matches Git.").waitFor(wait);
    await markDocument();
    // The platform bundle only reports drift (drift: report), so it stays to be seen.
    await mergePatchAs(
      kubeConfigFor(fleet.cluster("prod-eu")),
      { apiVersion: "v1", kind: "Namespace", metadata: { name: "observability", labels: { "app.kubernetes.io/part-of": "me" } } },
      "kubectl-label",
    );
    const item = page.locator('[data-drift="prod-eu/Namespace observability"]');
    await item.waitFor(wait);
    const text = await item.innerText();
    assert.match(text, /drifted/);
    assert.match(text, /\/metadata\/labels\/app.kubernetes.io~1part-of/);
    assert.match(text, /"platform"/);
    assert.match(text, /"me"/);
    assert.match(text, /kubectl-label/);
    assert.equal(await documentMarked(), true, "the page was not reloaded");
    await screenshot(page, "drift");

    await goTo("Events");
    await page.locator('[data-event="drift-detected"]').first().waitFor(wait);
    await screenshot(page, "events");
  });

  void test("5. promote through the button: the dialog shows the diff, and the pipeline moves", async () => {
    const revision = await fleet.commit({ [overlayFile("staging")]: withTag(await demoFile(overlayFile("staging")), "1.5.1") }, "staging: web 1.5.1");
    await waitForWebHealthy(fleet.api, "staging-us", revision);
    await goTo("Pipelines");
    await page.getByRole("link", { name: "web" }).click();
    await page.getByRole("heading", { name: "Pipeline web" }).waitFor();
    await page.getByTestId("values-staging").filter({ hasText: `${webImage}:1.5.1` }).waitFor(wait);
    await markDocument();

    await page.getByRole("button", { name: "Promote staging → prod-us" }).click();
    const dialog = page.getByRole("dialog", { name: "Promote web: staging → prod-us" });
    await dialog.waitFor();
    const diff = dialog.getByTestId("dry-run-diff");
    await diff.waitFor(wait);
    assert.match(await diff.innerText(), /apps\/web\/prod-us\/kustomization\.yaml[\s\S]*-\s+newTag: 1\.4\.0[\s\S]*\+\s+newTag: 1\.5\.1/);
    assert.equal(await dialog.getByRole("button", { name: "Cancel" }).evaluate((b) => b === (globalThis as unknown as InPage).document.activeElement), true, "focus moves into the dialog");
    await screenshot(page, "promote-dialog");
    await dialog.getByRole("button", { name: "Promote", exact: true }).click();
    await dialog.waitFor({ state: "detached" });

    await page.getByTestId("values-prod-us").filter({ hasText: `${webImage}:1.5.1` }).waitFor(wait);
    await page.locator("[data-promotion]").first().filter({ hasText: /promotion[\s\S]*staging → prod-us[\s\S]*verified/ }).waitFor({ timeout: 180_000 });
    assert.equal(await documentMarked(), true, "the page was not reloaded");
    await waitForWebImage(kubeConfigFor(fleet.cluster("prod-us")), "prod-us", `${webImage}:1.5.1`);
    await screenshot(page, "pipeline");
  });

  void test("6. a viewer sees no promote or rollback button, and a promotion posted with its token gets 403", async () => {
    const viewer = await (await lightContext(browser)).newPage();
    try {
      await signIn(viewer, `${fleet.hubUrl}/pipelines/web`, fleet.viewerToken);
      assert.match(await viewer.getByTestId("caller").innerText(), /\(viewer\)/);
      await viewer.getByTestId("values-prod-us").filter({ hasText: `${webImage}:1.5.1` }).waitFor(wait);
      await viewer.locator("[data-promotion]").first().waitFor(wait);
      assert.equal(await viewer.getByRole("button", { name: /^Promote/ }).count(), 0);
      assert.equal(await viewer.getByRole("button", { name: "Roll back" }).count(), 0);
      const status = await viewer.evaluate(async () => {
        const token = sessionStorage.getItem("gitfleet.token") ?? "";
        const res = await fetch("/api/v1/promotions", {
          method: "POST",
          headers: { authorization: `Bearer ${token}`, "content-type": "application/json" },
          body: JSON.stringify({ pipeline: "web", from: "prod-us", to: "prod-eu" }),
        });
        return res.status;
      });
      assert.equal(status, 403);
    } finally {
      await viewer.context().close();
    }
  });
});
