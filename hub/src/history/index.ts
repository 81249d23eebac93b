// Cluster history: the revisions each cluster reached, when, and the commit's subject, author and
// promotion, kept per cluster in a bounded JetStream stream every hub replica records into.
export { entryId, nextEntry, PROMOTION_TRAILER, withCommit } from "./history-entry.js";
export type { HistoryBundle, HistoryEntry } from "./history-entry.js";
export { defaultHistoryLimit, historyStreamName, historySubject, historySubjectRoot, openHistoryLog } from "./history-log.js";
export type { HistoryLog, HistoryLogOptions } from "./history-log.js";
export { startHistory } from "./history.js";
export type { History, HistoryOptions } from "./history.js";
export { startHistoryRecorder } from "./recorder.js";
export type { HistoryRecorder, HistoryRecorderOptions } from "./recorder.js";
