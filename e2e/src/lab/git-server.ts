import type { ChildProcess } from "node:child_process";
import { createHash, randomBytes, timingSafeEqual } from "node:crypto";
import { createWriteStream, type WriteStream } from "node:fs";
import { mkdir } from "node:fs/promises";
import { once } from "node:events";
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import { join, resolve } from "node:path";
import { killBackend, runBackend } from "./git-server-cgi.js";
import { createBareRepo, repoExists, repoName } from "./git-server-repos.js";

/** Options for {@link startGitServer}. */
export interface GitServerOptions {
  /** A folder owned by the lab; repositories live in `dir/repos`, the log in `dir/git-server.log`. */
  dir: string;
  /** The password for HTTP Basic auth; a random one is generated if absent. */
  token?: string | undefined;
  /** The user name for HTTP Basic auth. Default "gitfleet". */
  user?: string | undefined;
  /** Listen on this port (e.g. the one from a previous run); default a free one. */
  port?: number | undefined;
  /**
   * Repositories to create on start: name -> a folder whose files become the
   * first commit on `main` of the bare repository `<name>.git`. A repository
   * that already exists (a restart on the same `dir`) is kept as it is.
   */
  seeds?: Record<string, string> | undefined;
  /**
   * Called after each receive-pack POST that the backend completed, with the
   * repository name (without ".git"). Meant for webhooks: it fires even when
   * the client's refs were all rejected, and errors it throws are only logged.
   */
  onPush?: ((repo: string) => void | Promise<void>) | undefined;
  /**
   * Called before a receive-pack POST reaches the backend, with the repository name and the
   * client's user agent; the push waits for it. Meant for tests that make something happen
   * between a client's fetch and its push (another commit landing first).
   */
  beforeReceive?: ((repo: string, userAgent: string) => Promise<void>) | undefined;
}

/** A running Git smart-HTTP server (see {@link startGitServer}). */
export interface GitServer {
  /** "http://127.0.0.1:PORT", without credentials. */
  readonly baseUrl: string;
  readonly user: string;
  readonly token: string;
  readonly port: number;
  /** Where requests and backend errors are logged. */
  readonly logFile: string;
  /** Clone URL with the credentials embedded, as plain `git clone`/`git push` accept it. */
  url(repo: string): string;
  /** Clone URL without credentials (for isomorphic-git with `onAuth`). */
  plainUrl(repo: string): string;
  /** Creates the bare repository `<name>.git`, seeded from `seedDir` if given; throws if it exists. */
  createRepo(name: string, seedDir?: string): Promise<void>;
  /** Stops listening, kills in-flight backends and closes the log. Idempotent. */
  stop(): Promise<void>;
}

/** A smart-HTTP request path: `/<repo>.git/<endpoint>`; nothing else is served (no dumb HTTP). */
const SMART_PATH = /^\/([A-Za-z0-9][A-Za-z0-9._-]*)\.git\/(info\/refs|git-upload-pack|git-receive-pack)$/;

/**
 * Starts a Git smart-HTTP server on 127.0.0.1 that runs the real
 * `git http-backend` as CGI for each request, with push enabled and HTTP Basic
 * auth (user + token) on every request.
 *
 * Clients: the git CLI speaks protocol v2 (the Git-Protocol header is passed
 * through) and gzips large fetch negotiations; isomorphic-git speaks v1 and
 * sends credentials only after a 401, which is why every unauthenticated
 * request gets one with a `WWW-Authenticate` challenge.
 */
export async function startGitServer(options: GitServerOptions): Promise<GitServer> {
  const dir = resolve(options.dir);
  const root = join(dir, "repos");
  const user = options.user ?? "gitfleet";
  const token = options.token ?? randomBytes(32).toString("base64url");
  if (user === "" || user.includes(":")) {
    throw new Error(`git server: user ${JSON.stringify(user)} must be non-empty and without ":"`);
  }
  if (token === "") throw new Error("git server: token must not be empty");
  await mkdir(root, { recursive: true });

  const logFile = join(dir, "git-server.log");
  const logStream = createWriteStream(logFile, { flags: "a" });
  await once(logStream, "open");
  const log = (line: string): void => {
    if (!logStream.writableEnded) logStream.write(`${new Date().toISOString()} ${line}\n`);
  };

  const server = createServer();
  try {
    for (const [name, seedDir] of Object.entries(options.seeds ?? {})) {
      if (await repoExists(root, name)) log(`seed ${name}: repository exists, kept`);
      else await createBareRepo(root, name, seedDir);
    }
    await listen(server, options.port ?? 0);
  } catch (err) {
    await closeLog(logStream);
    throw err;
  }
  const address = server.address();
  const port = typeof address === "object" && address ? address.port : 0;
  log(`listening on 127.0.0.1:${port}, repositories in ${root}`);
  // Without a listener a late socket error would crash the lab's supervisor.
  server.on("error", (err) => log(`server error: ${err.message}`));

  const running = new Set<ChildProcess>();
  const inFlight = new Set<Promise<void>>();
  const checkAuth = basicAuth(user, token);

  const handle = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const [path = "/", query = ""] = (req.url ?? "/").split(/\?(.*)/s, 2);
    const tag = `${req.method ?? "?"} ${path}`;
    if (!checkAuth(req.headers.authorization)) {
      log(`${tag} -> 401 (${req.headers.authorization ? "wrong credentials" : "no credentials"})`);
      res.writeHead(401, { "WWW-Authenticate": 'Basic realm="gitfleet"', "Content-Type": "text/plain" });
      res.end("authentication required\n");
      return;
    }
    // Matched on the raw path: "..", "%2e%2e" and hidden folders fail the pattern.
    const match = SMART_PATH.exec(path);
    if (!match) {
      log(`${tag} -> 404 (not a smart-HTTP path)`);
      res.writeHead(404, { "Content-Type": "text/plain" });
      res.end("not found\n");
      return;
    }
    const [, repo = "", endpoint] = match;
    if (endpoint === "git-receive-pack" && req.method === "POST" && options.beforeReceive) {
      await options.beforeReceive(repo, req.headers["user-agent"] ?? "");
    }
    const result = await runBackend({
      req, res, projectRoot: root, pathInfo: path, query, remoteUser: user, running, log,
    });
    log(`${tag} -> ${result.status}`);
    if (endpoint === "git-receive-pack" && req.method === "POST" && result.status === 200 && result.exitCode === 0) {
      notifyPush(options.onPush, repo, log);
    }
  };

  server.on("request", (req: IncomingMessage, res: ServerResponse) => {
    const task = handle(req, res).catch((err: unknown) => {
      log(`${req.method ?? "?"} ${req.url ?? ""}: unexpected error: ${String(err)}`);
      if (!res.headersSent) res.writeHead(500).end();
      else res.destroy();
    });
    inFlight.add(task);
    void task.finally(() => inFlight.delete(task));
  });

  let stopping: Promise<void> | undefined;
  const plainUrl = (repo: string): string => `http://127.0.0.1:${port}/${repoName(repo)}.git`;
  return {
    baseUrl: `http://127.0.0.1:${port}`,
    user,
    token,
    port,
    logFile,
    plainUrl,
    url: (repo) =>
      plainUrl(repo).replace("http://", `http://${encodeURIComponent(user)}:${encodeURIComponent(token)}@`),
    createRepo: (name, seedDir) => createBareRepo(root, name, seedDir),
    stop() {
      stopping ??= (async () => {
        const closed = new Promise<void>((done) => server.close(() => done()));
        for (const child of running) killBackend(child);
        server.closeAllConnections();
        await Promise.allSettled([...inFlight]);
        await closed;
        log("stopped");
        await closeLog(logStream);
      })();
      return stopping;
    },
  };
}

/**
 * Returns a checker for `Authorization: Basic ...` headers. Both parts are
 * compared as SHA-256 digests with timingSafeEqual, so neither the time taken
 * nor an early exit on a length mismatch tells a caller how close a guess was.
 */
function basicAuth(user: string, token: string): (header: string | undefined) => boolean {
  const digest = (s: string): Buffer => createHash("sha256").update(s, "utf8").digest();
  const wantUser = digest(user);
  const wantToken = digest(token);
  return (header) => {
    const match = header ? /^Basic\s+([A-Za-z0-9+/=_-]+)\s*$/i.exec(header) : null;
    if (!match?.[1]) return false;
    const decoded = Buffer.from(match[1], "base64").toString("utf8");
    const colon = decoded.indexOf(":");
    if (colon < 0) return false;
    const userOk = timingSafeEqual(digest(decoded.slice(0, colon)), wantUser);
    const tokenOk = timingSafeEqual(digest(decoded.slice(colon + 1)), wantToken);
    return userOk && tokenOk;
  };
}

/** Runs the push hook without letting its failure reach the request or go unhandled. */
function notifyPush(hook: GitServerOptions["onPush"], repo: string, log: (line: string) => void): void {
  if (!hook) return;
  try {
    const result = hook(repo);
    if (result instanceof Promise) result.catch((err: unknown) => log(`onPush(${repo}) failed: ${String(err)}`));
  } catch (err) {
    log(`onPush(${repo}) failed: ${String(err)}`);
  }
}

async function listen(server: Server, port: number): Promise<void> {
  await new Promise<void>((done, reject) => {
    const onError = (err: Error): void => {
      reject(new Error(`git server: cannot listen on 127.0.0.1:${port}: ${err.message}`, { cause: err }));
    };
    server.once("error", onError);
    server.listen(port, "127.0.0.1", () => {
      server.off("error", onError);
      done();
    });
  });
}

async function closeLog(stream: WriteStream): Promise<void> {
  if (stream.closed) return;
  await new Promise<void>((done) => stream.end(() => done()));
}
