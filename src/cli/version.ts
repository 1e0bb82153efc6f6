/** What oclif prints for `--version`; the start-up paths print the same. */
export function versionLine(pkg: {name: string; version: string}): string {
  return `${pkg.name}/${pkg.version} ${process.platform}-${process.arch} node-${process.version}`;
}
