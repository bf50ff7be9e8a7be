import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { type CategoryCount, displayFigure, leaderboard } from '../../protocols/bfcl/index.ts';

const full = (n: number): CategoryCount => ({ correct: n, total: n });

// Gold answers for every AST category (shared/bfcl/v3/README.md §4, "Check against a run").
const GOLD: Record<string, CategoryCount> = {
  simple: full(400),
  multiple: full(200),
  parallel: full(200),
  parallel_multiple: full(200),
  irrelevance: full(240),
  java: { correct: 98, total: 100 },
  javascript: full(50),
  live_simple: { correct: 256, total: 258 },
  live_multiple: { correct: 1051, total: 1053 },
  live_parallel: full(16),
  live_parallel_multiple: full(24),
  live_irrelevance: full(882),
  live_relevance: full(18),
};

describe('leaderboard aggregation', () => {
  it('reproduces the official CSV for gold answers: live 99.82%, non-live 99.87%, overall 66.56%', () => {
    const lb = leaderboard(GOLD);
    assert.equal(displayFigure(lb.liveOverall), '99.82%');
    assert.equal(lb.liveOverall.accuracy, 2247 / 2251);
    assert.equal(displayFigure(lb.nonLiveOverall), '99.87%');
    assert.equal(displayFigure(lb.multiTurnOverall), '0.00%', 'multi-turn not run counts as 0');
    assert.equal(displayFigure(lb.overall), '66.56%');
    assert.equal(displayFigure(lb.simpleAst), '99.33%', 'mean of python 100, java 98, javascript 100');
    assert.equal(displayFigure(lb.liveAst), `${((100 * 1347) / 1351).toFixed(2)}%`, 'weighted by entry count');
    assert.equal(displayFigure(lb.irrelevanceDetection), '100.00%');
  });

  it('non-live means are plain, live means weighted by count', () => {
    const lb = leaderboard({ ...GOLD, parallel: { correct: 0, total: 200 }, live_parallel: { correct: 0, total: 16 } });
    // plain: parallel drops a fifth of the non-live overall whatever its size
    assert.ok(Math.abs(lb.nonLiveOverall.accuracy - (0.99333333 + 1 + 0 + 1 + 1) / 5) < 1e-6);
    // weighted: live_parallel is 16 of 2251 entries
    assert.equal(lb.liveOverall.accuracy, (2247 - 16) / 2251);
  });

  it('a category not evaluated counts 0 and shows N/A in its subgroups only', () => {
    const { java: _j, javascript: _js, ...ours } = GOLD;
    const lb = leaderboard(ours);
    assert.equal(displayFigure(lb.categories.java), 'N/A');
    assert.equal(displayFigure(lb.simpleAst), 'N/A');
    assert.equal(displayFigure(lb.nonLiveAst), 'N/A');
    assert.equal(lb.simpleAst.accuracy, 1 / 3);
    assert.equal(displayFigure(lb.nonLiveOverall), `${((100 * (1 / 3 + 4)) / 5).toFixed(2)}%`);
    const noLive = leaderboard({ simple: full(400) });
    assert.equal(displayFigure(noLive.liveAst), 'N/A');
    assert.equal(noLive.liveOverall.accuracy, 0);
  });
});
