#include "core/observe/log.h"

Q_LOGGING_CATEGORY(lcProtocol, "archivist.protocol", QtInfoMsg)
Q_LOGGING_CATEGORY(lcNet, "archivist.net", QtInfoMsg)
Q_LOGGING_CATEGORY(lcIngest, "archivist.ingest", QtInfoMsg)
Q_LOGGING_CATEGORY(lcArchive, "archivist.archive", QtInfoMsg)
Q_LOGGING_CATEGORY(lcIndex, "archivist.index", QtInfoMsg)
Q_LOGGING_CATEGORY(lcRelays, "archivist.relays", QtInfoMsg)
Q_LOGGING_CATEGORY(lcSync, "archivist.sync", QtInfoMsg)
Q_LOGGING_CATEGORY(lcObserve, "archivist.observe", QtInfoMsg)
Q_LOGGING_CATEGORY(lcEngine, "archivist.engine", QtInfoMsg)
