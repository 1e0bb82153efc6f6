/** Logging sink: plugins never write to stdout (it belongs to the result JSON). */
export interface Logger {
  debug(message: string): void;
  warn(message: string): void;
}
