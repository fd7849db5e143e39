#!/usr/bin/env node
// `kubectl herald <command> ...`: kubectl runs the first `kubectl-herald` on
// PATH with the arguments after `herald`, which are herald's own.
import './main.js';
