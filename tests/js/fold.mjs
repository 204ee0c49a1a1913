// The browser's board fold (web/board-model.js) as a filter, for the parity test
// (tests/functional/test_board_parity_functional.py): each line in is {"board": a
// board frame, "events": [op_event frames]}; each line out is the board they fold to,
// as a frame, and its view.
import { createInterface } from "node:readline";
import { fromFrame, toFrame, apply, view } from "../../web/board-model.js";

for await (const line of createInterface({ input: process.stdin })) {
  if (!line.trim()) continue;
  const { board: frame, events } = JSON.parse(line);
  const board = fromFrame(frame);
  for (const f of events) apply(board, f);
  const v = view(board);
  process.stdout.write(JSON.stringify({ board: toFrame(board), view: {
    counts: v.counts, open_cases: v.openCases.map((c) => c.id), alerts: v.alerts.map((a) => a.id),
  } }) + "\n");
}
