// The few raw API calls the lab makes itself (creating fake nodes, waiting for readiness), so
// starting a lab depends on no Kubernetes client library.
import { request } from "node:https";

/** Where and as whom the lab reaches one apiserver. */
export interface RestAccess {
  server: string;
  token: string;
  caData: string;
}

/** An API answer: the HTTP status and the parsed JSON body (undefined when there is none). */
export interface RestReply {
  status: number;
  body: unknown;
}

/** Sends one JSON request to the apiserver; any HTTP status resolves, only transport errors reject. */
export function kubeRest(access: RestAccess, method: string, path: string, body?: unknown): Promise<RestReply> {
  const payload = body === undefined ? undefined : JSON.stringify(body);
  return new Promise((resolve, reject) => {
    const req = request(
      `${access.server}${path}`,
      {
        method,
        ca: access.caData,
        timeout: 10_000,
        headers: {
          authorization: `Bearer ${access.token}`,
          accept: "application/json",
          ...(payload ? { "content-type": "application/json" } : {}),
        },
      },
      (res) => {
        let text = "";
        res.setEncoding("utf8");
        res.on("data", (chunk: string) => (text += chunk));
        res.once("end", () => {
          let parsed: unknown;
          try {
            parsed = text ? JSON.parse(text) : undefined;
          } catch {
            parsed = text;
          }
          resolve({ status: res.statusCode ?? 0, body: parsed });
        });
        res.once("error", reject);
      },
    );
    req.once("error", reject);
    req.once("timeout", () => req.destroy(new Error(`${method} ${path}: no answer within 10 s`)));
    req.end(payload);
  });
}

/** GET /healthz of a control plane component's own HTTPS endpoint (self-signed, anonymous). */
export function componentHealthy(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const req = request(`https://127.0.0.1:${port}/healthz`, { rejectUnauthorized: false, timeout: 2_000 }, (res) => {
      res.resume();
      resolve(res.statusCode === 200);
    });
    req.once("error", () => resolve(false));
    req.once("timeout", () => req.destroy());
    req.end();
  });
}
