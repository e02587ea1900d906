/** `elax reindex`: placeholder registration, filled in by the reindex work. */
import type { Command } from 'commander';

export function registerReindexCommands(_program: Command): void {}
