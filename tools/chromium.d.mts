export declare const CHROMIUM_ENV: string;
export declare const CHROMIUM_FLAGS: readonly string[];
export declare const CHROMIUM_INSTALL_COMMAND: string;
export declare function chromiumInstallHint(): string;
export declare function findChromium(): string | null;
