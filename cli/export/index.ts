/** `elax export`: placeholder registration, filled in by the export work. */
import type { Command } from 'commander';

export function registerExportCommands(_program: Command): void {}
