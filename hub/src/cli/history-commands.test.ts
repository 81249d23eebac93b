import { strict as assert } from "node:assert";
import { describe, test } from "node:test";
import type { CommandContext } from "./commands.js";
import type { HubClient } from "./hub-client.js";
import { historyCommand, type HistoryItemView } from "./history-commands.js";

const item = (revision: string, init: Partial<HistoryItemView> = {}): HistoryItemView => ({
  revision,
  reachedAt: new Date(Date.now() - 180_000).toISOString(),
  bundles: [{ name: "web", digest: "d", since: new Date().toISOString() }],
  ...init,
});

function hubAnswering(items: HistoryItemView[]) {
  const asked: string[] = [];
  const hub: HubClient = {
    get: <T>(path: string) => {
      asked.push(path);
      return Promise.resolve({ cluster: "prod-us-1", items } as T);
    },
    post: () => Promise.reject(new Error("unused")),
    patch: () => Promise.reject(new Error("unused")),
    delete: () => Promise.reject(new Error("unused")),
    stream: () => Promise.reject(new Error("unused")),
  };
  return { hub, asked };
}

void describe("gitfleet history", () => {
  void test("prints each revision with when, who, the promotion and the subject, newest first as the hub lists them", async () => {
    const printed: string[] = [];
    const { hub, asked } = hubAnswering([
      item("4f0b60f1c2d3e4f5a6b7c8d9e0f1a2b3c4d5e6f7", { author: "alice", subject: "promote web: staging → prod-us (web:1.4.2)", promotion: "p-01hx" }),
      item("91ac2e3aa2d3e4f5a6b7c8d9e0f1a2b3c4d5e6f7", { reachedAt: new Date(Date.now() - 7_200_000).toISOString() }),
    ]);
    const ctx: CommandContext = { hub, output: "table", print: (s) => printed.push(s) };
    await historyCommand(ctx, "prod-us-1", 5);
    assert.deepEqual(asked, ["/clusters/prod-us-1/history?limit=5"]);
    const lines = (printed[0] ?? "").split("\n");
    assert.match(lines[0] ?? "", /^REVISION\s+REACHED\s+AUTHOR\s+PROMOTION\s+SUBJECT$/);
    assert.match(lines[1] ?? "", /^4f0b60f1c2d3\s+3m ago\s+alice\s+p-01hx\s+promote web: staging → prod-us \(web:1\.4\.2\)$/);
    assert.match(lines[2] ?? "", /^91ac2e3aa2d3\s+2h ago\s+-\s+-\s+\(commit not fetched by the hub\)$/);
  });

  void test("prints the answer as JSON with -o json, and says when there is no history", async () => {
    const printed: string[] = [];
    const only = item("abc");
    const { hub, asked } = hubAnswering([only]);
    await historyCommand({ hub, output: "json", print: (s) => printed.push(s) }, "prod-us-1", undefined);
    assert.deepEqual(asked, ["/clusters/prod-us-1/history"]);
    assert.deepEqual(JSON.parse(printed[0] ?? ""), { cluster: "prod-us-1", items: [only] });
    const empty = hubAnswering([]);
    await historyCommand({ hub: empty.hub, output: "table", print: (s) => printed.push(s) }, "prod-us-1", undefined);
    assert.equal(printed.at(-1), "no history for prod-us-1 yet");
  });
});
