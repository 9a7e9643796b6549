#!/bin/sh
echo "$GREETING"
echo "Image $(cat /app/build-info.txt)."
echo "Running as $(id -un) in $(pwd) on $(hostname)."
