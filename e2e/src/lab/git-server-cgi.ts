import { spawn, type ChildProcess, type ChildProcessWithoutNullStreams } from "node:child_process";
import type { IncomingMessage, OutgoingHttpHeaders, ServerResponse } from "node:http";
import { isolatedGitEnv } from "./git-server-repos.js";

/** One request to hand to `git http-backend`. */
export interface BackendRequest {
  req: IncomingMessage;
  res: ServerResponse;
  /** The folder holding the bare repositories (GIT_PROJECT_ROOT). */
  projectRoot: string;
  /** Already validated: only safe characters, no `..`, no percent-encoding. */
  pathInfo: string;
  query: string;
  /** The authenticated user; with it set, http-backend allows receive-pack. */
  remoteUser: string;
  /** Every running backend, so that stopping the server can kill them. */
  running: Set<ChildProcess>;
  log: (line: string) => void;
}

/** How a backend run ended. */
export interface BackendResult {
  /** HTTP status sent to the client (500 if the backend failed before its headers). */
  status: number;
  /** Exit code, or null if it died from a signal or never started. */
  exitCode: number | null;
}

/** The CGI header block is small; a backend that sends more is broken. */
const MAX_HEADER_BYTES = 64 * 1024;

/**
 * Runs `git http-backend` as a CGI program for one request: the request body
 * streams to its stdin unchanged (gzip bodies included: the backend inflates
 * them itself when HTTP_CONTENT_ENCODING says so), its `Status:` and other
 * header lines become the response head, and the rest of its stdout streams to
 * the client. Never rejects; failures before the headers answer 500.
 */
export async function runBackend(request: BackendRequest): Promise<BackendResult> {
  const { req, res, log } = request;
  const tag = `${req.method ?? "?"} ${request.pathInfo}`;
  let status = 0;
  let child: ChildProcessWithoutNullStreams;
  try {
    // Own process group, so stop() can take upload-pack/pack-objects with it.
    child = spawn("git", ["http-backend"], { env: cgiEnv(request), detached: true });
  } catch (err) {
    log(`${tag}: cannot start git http-backend: ${String(err)}`);
    fail(res);
    return { status: 500, exitCode: null };
  }
  request.running.add(child);

  child.stderr.setEncoding("utf8");
  child.stderr.on("data", (text: string) => {
    for (const line of text.split("\n")) if (line.trim()) log(`${tag}: backend: ${line.trimEnd()}`);
  });
  // The backend may answer (404, 403) without reading the body; that EPIPE is expected.
  child.stdin.on("error", () => undefined);
  req.pipe(child.stdin);

  let head = Buffer.alloc(0);
  const onData = (chunk: Buffer): void => {
    head = Buffer.concat([head, chunk]);
    const end = headerEnd(head);
    if (!end) {
      if (head.length > MAX_HEADER_BYTES) {
        log(`${tag}: backend sent no header end within ${MAX_HEADER_BYTES} bytes`);
        killBackend(child);
      }
      return;
    }
    child.stdout.off("data", onData);
    const parsed = parseCgiHead(head.subarray(0, end.headEnd).toString("latin1"));
    try {
      res.writeHead(parsed.status, parsed.headers);
    } catch (err) {
      log(`${tag}: backend sent an invalid header: ${String(err)}`);
      killBackend(child);
      return;
    }
    status = parsed.status;
    const rest = head.subarray(end.bodyStart);
    if (rest.length > 0) res.write(rest);
    child.stdout.pipe(res);
  };
  child.stdout.on("data", onData);

  // A client that hangs up mid-clone must not leave pack-objects running.
  res.on("close", () => {
    if (!res.writableFinished) killBackend(child);
  });

  const exitCode = await new Promise<number | null>((resolve) => {
    child.once("error", (err) => {
      log(`${tag}: git http-backend failed to run: ${err.message}`);
      resolve(null);
    });
    child.once("close", (code, signal) => {
      if (code !== 0) log(`${tag}: git http-backend exited with ${code ?? signal ?? "?"}`);
      resolve(code);
    });
  });
  request.running.delete(child);
  if (status === 0) {
    fail(res);
    return { status: 500, exitCode };
  }
  // Headers went out, so a late failure can only cut the body short.
  if (exitCode !== 0 && !res.writableEnded) res.destroy();
  return { status, exitCode };
}

/** Kills a backend and everything it started (its process group). */
export function killBackend(child: ChildProcess): void {
  if (child.exitCode !== null || child.signalCode !== null) return;
  try {
    if (child.pid !== undefined) process.kill(-child.pid, "SIGKILL");
    else child.kill("SIGKILL");
  } catch {
    // The group may already be gone; the direct kill covers a lone process.
    child.kill("SIGKILL");
  }
}

/** Answers 500, or cuts the response if the head already went out. */
function fail(res: ServerResponse): void {
  if (res.headersSent) {
    res.destroy();
    return;
  }
  res.writeHead(500, { "Content-Type": "text/plain; charset=utf-8" });
  res.end("git http-backend failed; see the git server log in the lab folder\n");
}

function cgiEnv(request: BackendRequest): NodeJS.ProcessEnv {
  const { req } = request;
  const env: Record<string, string> = {
    GATEWAY_INTERFACE: "CGI/1.1",
    SERVER_PROTOCOL: `HTTP/${req.httpVersion}`,
    SERVER_SOFTWARE: "gitfleet-lab",
    REQUEST_METHOD: req.method ?? "GET",
    PATH_INFO: request.pathInfo,
    QUERY_STRING: request.query,
    GIT_PROJECT_ROOT: request.projectRoot,
    // Serve every repository under the root without git-daemon-export-ok files.
    GIT_HTTP_EXPORT_ALL: "1",
    AUTH_TYPE: "Basic",
    REMOTE_USER: request.remoteUser,
    REMOTE_ADDR: req.socket.remoteAddress ?? "127.0.0.1",
  };
  const contentType = req.headers["content-type"];
  if (contentType !== undefined) env["CONTENT_TYPE"] = contentType;
  // Chunked bodies (large pushes) have no length: the backend then reads to EOF.
  const contentLength = req.headers["content-length"];
  if (contentLength !== undefined && req.headers["transfer-encoding"] === undefined) {
    env["CONTENT_LENGTH"] = contentLength;
  }
  const encoding = req.headers["content-encoding"];
  if (encoding !== undefined) env["HTTP_CONTENT_ENCODING"] = encoding;
  // "version=2" from the git CLI; the backend passes it on as GIT_PROTOCOL.
  const protocol = req.headers["git-protocol"];
  if (typeof protocol === "string") env["HTTP_GIT_PROTOCOL"] = protocol;
  return isolatedGitEnv(env);
}

/** Where the CGI header block ends; CGI allows bare LF, git sends CRLF. */
function headerEnd(buf: Buffer): { headEnd: number; bodyStart: number } | undefined {
  const crlf = buf.indexOf("\r\n\r\n");
  const lf = buf.indexOf("\n\n");
  if (crlf >= 0 && (lf < 0 || crlf < lf)) return { headEnd: crlf, bodyStart: crlf + 4 };
  if (lf >= 0) return { headEnd: lf, bodyStart: lf + 2 };
  return undefined;
}

/** Parses CGI response headers; `Status:` sets the code, the rest pass through. */
export function parseCgiHead(text: string): { status: number; headers: OutgoingHttpHeaders } {
  let status = 200;
  const headers: Record<string, string | string[]> = {};
  for (const line of text.split(/\r?\n/)) {
    const colon = line.indexOf(":");
    if (colon <= 0) continue;
    const name = line.slice(0, colon).trim();
    const value = line.slice(colon + 1).trim();
    if (name.toLowerCase() === "status") {
      const code = Number.parseInt(value, 10);
      if (code >= 100 && code <= 599) status = code;
      continue;
    }
    const previous = headers[name];
    if (previous === undefined) headers[name] = value;
    else headers[name] = Array.isArray(previous) ? [...previous, value] : [previous, value];
  }
  return { status, headers };
}
