#pragma once
// A scriptable engine for UI tests: records what the window asked for and publishes snapshots
// on demand. Header-only (no Q_OBJECT: it adds no signals).
#include <QPair>
#include <QSet>
#include <QStringList>
#include <QVector>

#include "core/engine/engine.h"

class FakeEngine : public archivist::engine::Engine {
public:
    using RelayAction = archivist::engine::Engine::RelayAction;
    QStringList imported;
    bool running = false;
    bool cancelled = false;
    archivist::engine::EngineSnapshot current;
    QStringList added;                         // addRelay calls (URLs as passed)
    QSet<QString> refuseAdd;                   // URLs addRelay fails for ("exists")
    QVector<QPair<QString, RelayAction>> actions;
    QString actionError;                       // non-empty: relayAction fails with it
    QHash<QString, QString> infoDocuments;
    QStringList allowList;

    void startImport(const QStringList& files) override {
        imported = files;
        running = true;
    }
    void cancelJob() override { cancelled = true; }
    bool jobRunning() const override { return running; }
    archivist::engine::EngineSnapshot snapshot() const override { return current; }
    bool addRelay(const QString& url, QString* normalized, QString* error) override {
        added << url;
        if (refuseAdd.contains(url)) {
            if (error) *error = url + " is already in the pool";
            return false;
        }
        if (normalized) *normalized = url;
        return true;
    }
    bool relayAction(const QString& url, RelayAction action, QString* error) override {
        actions.push_back({url, action});
        if (!actionError.isEmpty()) {
            if (error) *error = actionError;
            return false;
        }
        return true;
    }
    QString relayInfoDocument(const QString& url) override { return infoDocuments.value(url); }
    QStringList addressAllowList() const override { return allowList; }
    void publish(const archivist::engine::EngineSnapshot& s) {
        current = s;
        emit snapshotReady(s);
    }
};
