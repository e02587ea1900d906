/** `elax ingest`: placeholder registration, filled in by the ingest work. */
import type { Command } from 'commander';

export function registerIngestCommands(_program: Command): void {}
