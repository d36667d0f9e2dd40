// The hints are inline functions in the header; SwiftPM builds a C target only from a source
// file, so this one compiles the header once (which also checks it on its own).
#include "CMemoryHints.h"
