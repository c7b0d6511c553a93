/**
 * Imported first by tests of modules that build the function's logger when they load (from LOG_LEVEL): imports
 * run before a file's own statements, so the variable is set in a module of its own.
 */
process.env.LOG_LEVEL = 'INFO';
