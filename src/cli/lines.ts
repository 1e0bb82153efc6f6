/** A command's text output: `out` lines go to stdout, `err` lines to stderr (BaseCommand.print). */
export interface Lines {
  out: string[];
  err: string[];
}
