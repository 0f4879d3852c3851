// Readiness for systemd Type=notify units (libsystemd's sd_notify); a no-op
// when NOTIFY_SOCKET is not set, i.e. outside systemd.
#pragma once

namespace rtmpgate::proxy {

void notifyReady();
void notifyReloading();
void notifyStopping();

}  // namespace rtmpgate::proxy
