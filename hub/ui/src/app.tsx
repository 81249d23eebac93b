// The app's frame: sign-in, the navigation, the live-stream indicator, and the page of the path.
import { useEffect, useRef, useState } from "preact/hooks";
import { api, ApiError, type Caller } from "./api.js";
import { onStreamState, startEvents, stopEvents, type StreamState } from "./events.js";
import { Link } from "./link.js";
import { ClusterPage } from "./pages/cluster.js";
import { DriftPage } from "./pages/drift.js";
import { EventsPage } from "./pages/events.js";
import { OverviewPage } from "./pages/overview.js";
import { PipelinePage, PipelinesPage } from "./pages/pipelines.js";
import { SignIn } from "./pages/sign-in.js";
import { navigate, useLocation } from "./router.js";
import { clearToken, storedToken, storeToken } from "./session.js";

function Page(props: { path: string; search: URLSearchParams; caller: Caller }) {
  const { path } = props;
  const cluster = /^\/clusters\/([^/]+)$/.exec(path);
  if (cluster?.[1]) return <ClusterPage name={decodeURIComponent(cluster[1])} />;
  const pipeline = /^\/pipelines\/([^/]+)$/.exec(path);
  if (pipeline?.[1]) return <PipelinePage name={decodeURIComponent(pipeline[1])} caller={props.caller} />;
  switch (path) {
    case "/":
      return <OverviewPage initialSelector={props.search.get("selector") ?? ""} />;
    case "/drift":
      return <DriftPage search={props.search} />;
    case "/pipelines":
      return <PipelinesPage />;
    case "/events":
      return <EventsPage />;
    default:
      return (
        <>
          <h1 tabIndex={-1}>Not found</h1>
          <p>
            No page at {path}. <Link href="/">Go to the overview.</Link>
          </p>
        </>
      );
  }
}

const nav = [
  { href: "/", label: "Overview" },
  { href: "/drift", label: "Drift" },
  { href: "/pipelines", label: "Pipelines" },
  { href: "/events", label: "Events" },
];

/** The whole app. */
export function App() {
  const { path, search } = useLocation();
  const [caller, setCaller] = useState<Caller | undefined>(undefined);
  const [checking, setChecking] = useState(storedToken() !== undefined);
  const [message, setMessage] = useState<string | undefined>(undefined);
  const [stream, setStream] = useState<StreamState>("connecting");
  const main = useRef<HTMLElement>(null);

  useEffect(() => {
    if (!storedToken()) return;
    api<Caller>("/whoami").then(
      (who) => {
        setCaller(who);
        setChecking(false);
      },
      (err: unknown) => {
        if (err instanceof ApiError && err.status === 401) clearToken();
        setMessage(err instanceof ApiError && err.status === 401 ? "The hub no longer accepts the token of this session; sign in again." : (err as Error).message);
        setChecking(false);
      },
    );
  }, []);
  useEffect(() => {
    if (!caller) return;
    startEvents();
    const off = onStreamState(setStream);
    return () => {
      off();
      stopEvents();
    };
  }, [caller]);
  // A new page: move focus to its heading, as a screen reader user expects after a link.
  useEffect(() => {
    main.current?.querySelector<HTMLElement>("h1")?.focus();
  }, [path]);

  if (checking) return <p aria-live="polite">Checking the session…</p>;
  if (!caller) {
    return (
      <SignIn
        message={message}
        onSignedIn={(token, who) => {
          storeToken(token);
          setCaller(who);
        }}
      />
    );
  }
  const section = nav.filter((n) => (n.href === "/" ? path === "/" || path.startsWith("/clusters/") : path.startsWith(n.href))).at(0)?.href;
  return (
    <>
      <a class="skip" href="#main">
        Skip to content
      </a>
      <header class="top">
        <span class="brand">gitfleet</span>
        <nav aria-label="Pages">
          {nav.map((n) => (
            <Link key={n.href} href={n.href} current={section === n.href}>
              {n.label}
            </Link>
          ))}
        </nav>
        <span class={`stream stream-${stream}`} role="status" title="The live event stream">
          <span aria-hidden="true">{stream === "live" ? "●" : "○"}</span> {stream === "live" ? "live" : stream === "connecting" ? "connecting" : "reconnecting"}
        </span>
        <span class="who" data-testid="caller">
          {caller.name} ({caller.role})
        </span>
        <button
          type="button"
          onClick={() => {
            clearToken();
            stopEvents();
            setCaller(undefined);
            navigate("/");
          }}
        >
          Sign out
        </button>
      </header>
      <main id="main" ref={main}>
        <Page path={path} search={search} caller={caller} />
      </main>
    </>
  );
}
