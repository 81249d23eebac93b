// `gitfleet signing-key list|rotate|retire`: the hub's desired-state signing keys.
import type { CommandContext } from "./commands.js";
import { age, renderTable } from "./output.js";

/** A signing key as the hub lists it (public half only). */
export interface SigningKeyView {
  id: string;
  publicKey: string;
  endorsedBy: string;
  createdAt: string;
  active: boolean;
}

function emit<T>(ctx: CommandContext, value: T, human: (v: T) => string): void {
  ctx.print(ctx.output === "json" ? JSON.stringify(value, null, 2) : human(value));
}

/** `gitfleet signing-key list`. */
export async function signingKeyList(ctx: CommandContext): Promise<void> {
  const { items } = await ctx.hub.get<{ items: SigningKeyView[] }>("/signing-keys");
  emit(ctx, { items }, (v) =>
    renderTable(v.items, [
      { header: "ID", value: (k) => k.id },
      { header: "STATE", value: (k) => (k.active ? "active" : "trusted") },
      { header: "ENDORSED BY", value: (k) => k.endorsedBy || "-" },
      { header: "CREATED", value: (k) => age(k.createdAt) },
      { header: "PUBLIC KEY", value: (k) => k.publicKey },
    ]),
  );
}

/** `gitfleet signing-key rotate`. */
export async function signingKeyRotate(ctx: CommandContext): Promise<void> {
  const outcome = await ctx.hub.post<{ key: SigningKeyView; resigned: number; failed: string[] }>("/signing-keys/rotate", {});
  emit(ctx, outcome, (o) =>
    [
      `signing key ${o.key.id} created (endorsed by ${o.key.endorsedBy}) and now signs desired state;`,
      `${o.resigned} cluster pointer(s) re-signed${o.failed.length > 0 ? `, ${o.failed.length} left for their next publish (${o.failed.join(", ")})` : ""}.`,
      `Retire ${o.key.endorsedBy} with \`gitfleet signing-key retire ${o.key.endorsedBy}\` once every agent has connected since.`,
    ].join("\n"),
  );
}

/** `gitfleet signing-key retire ID`. */
export async function signingKeyRetire(ctx: CommandContext, id: string): Promise<void> {
  await ctx.hub.delete(`/signing-keys/${encodeURIComponent(id)}`);
  emit(ctx, { id, retired: true }, () => `signing key ${id} retired; agents stop trusting it on their next Welcome or refresh`);
}
