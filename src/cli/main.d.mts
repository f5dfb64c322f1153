export declare function main(
  argv: string[],
  io: {
    stdin: NodeJS.ReadableStream;
    stdout: NodeJS.WritableStream & { isTTY?: boolean };
    stderr: NodeJS.WritableStream & { isTTY?: boolean };
  },
): Promise<number>;
