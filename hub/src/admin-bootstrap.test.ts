import { strict as assert } from "node:assert";
import { mkdtemp, readFile, rm, stat } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Writable } from "node:stream";
import { describe, it } from "node:test";
import { pino } from "pino";
import { adminTokenAnnouncer } from "./admin-bootstrap.js";

void describe("the generated admin token", () => {
  void it("goes to a file only its user reads, and the log says where but never what", async () => {
    const dir = await mkdtemp(join(tmpdir(), "gitfleet-admin-"));
    try {
      const lines: string[] = [];
      const logger = pino(new Writable({ write: (chunk: Buffer, _enc, done) => (lines.push(chunk.toString()), done()) }));
      const file = join(dir, "admin-token");
      adminTokenAnnouncer({ file, logger, interactive: true })("gf_adm_the-secret");
      assert.equal(await readFile(file, "utf8"), "gf_adm_the-secret\n");
      assert.equal((await stat(file)).mode & 0o777, 0o600);
      assert.equal(lines.length, 1);
      assert.ok(lines[0]?.includes(file), "the log names the file");
      assert.ok(!lines.join("").includes("the-secret"), "the log holds no secret");
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
