echo "$1" >>ran
echo $$ >"started.$1"
while [ ! -f go ] && [ -f hold.sh ]; do sleep 0.05; done
